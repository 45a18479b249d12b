_base_ = [
    '../../_base_/models/mavil_vit-b_av-cls.py',
    '../../_base_/datasets/audioset20k_finetune.py',
    '../../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes both MAViL (stage-2, AS-2M) encoders with a 3-layer fusion Transformer on
# AudioSet-20K, audio + video (Table 6, AS-20K A+V). Table 10 "AS-20K": base lr 1e-3, batch 64 =
# 8 GPUs × 8, 60 epochs, mixup 0.5, BCE; tested with 10 clips per video (Table 11).
# A+V: the video encoder's lr is halved (Appendix B "Fine-tuning").
optim_wrapper = dict(paramwise_cfg=dict(
    layer_decay_rate=0.75,  # layer decay as Audio-MAE (README)
    custom_keys={'video_backbone.': dict(lr_mult=0.5)}))
