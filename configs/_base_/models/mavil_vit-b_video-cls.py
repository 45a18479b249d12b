# Video fine-tuning model (§4.3, Appendix B "Fine-tuning"): the (stage-2) MAViL ViT-B video
# encoder f_v on 8×224×224 clips, mean pool over its tokens (CLS excluded), linear head; drop
# path 0.1; fine-tuning masking of 20 % time + 20 % space; BCE (Table 10). The encoder comes from
# a MAViL checkpoint (`model.init_cfg.checkpoint`).
model = dict(
    type='AVClassifier',
    modality='video',
    video_backbone=dict(
        type='VideoViT', arch='b', input_size=(8, 224, 224), patch_size=(2, 16, 16),
        drop_path_rate=0.1),
    video_mask_ratios=(0.2, 0.2),
    head=dict(type='AVClsHead', num_classes=527, loss='bce'),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mavil_vit-b_as2m_stage2.pth'))
