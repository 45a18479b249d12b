_base_ = [
    '../../_base_/models/mavil_vit-b_video-cls.py',
    '../../_base_/datasets/audioset_finetune_video.py',
    '../../_base_/schedules/finetune_adamw_coslr-100e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes the MAViL (stage-2, AS-2M) video encoder on AudioSet-2M, video only (Table 6, AS-2M
# V). Table 10 "AS-2M": base lr 2e-4, batch 512 = 64 GPUs × 8, 100 epochs of 200K weighted
# samples, mixup 0.5, BCE; tested with 10 clips per video (Table 11).
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))  # layer decay as Audio-MAE (README)
