# Fine-tuning model (§4.3, Appendix B "Fine-tuning"): the (stage-2) MAViL ViT-B encoders, mean
# pool over tokens (CLS excluded), linear head; A+V appends a 3-layer vanilla Transformer over both
# encoders' tokens and classifies the pooled concatenation. Drop path 0.1; fine-tuning masking of
# 20 % time + 20 % frequency (audio) and 20 % time + 20 % space (video); BCE (Table 10).
# The encoders come from a MAViL checkpoint; set its path with
#   --cfg-options model.init_cfg.checkpoint=work_dirs/<stage-2 run>/epoch_20.pth
model = dict(
    type='AVClassifier',
    modality='audio_video',
    audio_backbone=dict(
        type='AudioViT', arch='b', input_size=(1024, 128), patch_size=16, drop_path_rate=0.1),
    video_backbone=dict(
        type='VideoViT', arch='b', input_size=(8, 224, 224), patch_size=(2, 16, 16),
        drop_path_rate=0.1),
    fusion=dict(type='VanillaFusion', num_layers=3, drop_path_rate=0.1),
    head=dict(type='AVClsHead', num_classes=527, loss='bce'),
    audio_mask_ratios=(0.2, 0.2),
    video_mask_ratios=(0.2, 0.2),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mavil_vit-b_as2m_stage2.pth'))
