_base_ = [
    '../../_base_/models/mavil_vit-b_video-cls.py',
    '../../_base_/datasets/audioset20k_finetune_video.py',
    '../../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes the MAViL (stage-2, AS-2M) video encoder on AudioSet-20K, video only (Table 6,
# AS-20K V). Table 10 "AS-20K": base lr 1e-3, batch 64 = 8 GPUs × 8, 60 epochs, mixup 0.5, BCE;
# tested with 10 clips per video (Table 11).
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))  # layer decay as Audio-MAE (README)
