# Audio + video fine-tuning model (§4.3, Appendix B "Fine-tuning"): the audio model of
# mavil_vit-b_audio-cls.py plus the ViT-B video encoder (20 % time + 20 % space fine-tuning
# masking) and a 3-layer vanilla Transformer over both encoders' tokens; the head classifies the
# concatenated per-modality mean pools. Both encoders come from the same MAViL checkpoint.
# Appendix B also halves the video encoder's lr for A+V; that is an optimiser setting, in the
# A+V benchmark configs.
_base_ = ['./mavil_vit-b_audio-cls.py']

model = dict(
    modality='audio_video',
    video_backbone=dict(
        type='VideoViT', arch='b', input_size=(8, 224, 224), patch_size=(2, 16, 16),
        drop_path_rate=0.1),
    video_mask_ratios=(0.2, 0.2),
    fusion=dict(type='VanillaFusion', num_layers=3, drop_path_rate=0.1))
