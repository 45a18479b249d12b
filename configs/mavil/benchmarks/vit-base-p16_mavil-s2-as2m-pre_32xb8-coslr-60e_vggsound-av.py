_base_ = [
    '../../_base_/models/mavil_vit-b_av-cls.py',
    '../../_base_/datasets/vggsound_finetune.py',
    '../../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes both MAViL (stage-2, AS-2M) encoders with a 3-layer fusion Transformer on VGGSound,
# audio + video (Table 7, A+V). Table 10 "VGGSound": base lr 2e-4, batch 256 = 32 GPUs × 8, 60
# epochs of 200K weighted samples, mixup 0.5, BCE; tested with 10 clips per video (Table 11).
# A+V: the video encoder's lr is halved (Appendix B "Fine-tuning").
model = dict(head=dict(num_classes=309))
optim_wrapper = dict(optimizer=dict(lr=2e-4), paramwise_cfg=dict(
    layer_decay_rate=0.75,  # layer decay as Audio-MAE (README)
    custom_keys={'video_backbone.': dict(lr_mult=0.5)}))
