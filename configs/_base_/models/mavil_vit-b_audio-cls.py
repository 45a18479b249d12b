# Audio fine-tuning model (§4.3, Appendix B "Fine-tuning"): the (stage-2) MAViL ViT-B audio
# encoder f_a, mean pool over its tokens (CLS excluded), linear head; drop path 0.1; fine-tuning
# masking of 20 % time + 20 % frequency; BCE (Table 10). The encoder comes from a MAViL
# checkpoint; set its path with
#   --cfg-options model.init_cfg.checkpoint=work_dirs/<stage-2 run>/epoch_20.pth
model = dict(
    type='AVClassifier',
    modality='audio',
    audio_backbone=dict(
        type='AudioViT', arch='b', input_size=(1024, 128), patch_size=16, drop_path_rate=0.1),
    audio_mask_ratios=(0.2, 0.2),
    head=dict(type='AVClsHead', num_classes=527, loss='bce'),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mavil_vit-b_as2m_stage2.pth'))
