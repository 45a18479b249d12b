_base_ = [
    '../../_base_/models/mavil_vit-b_audio-cls.py',
    '../../_base_/datasets/vggsound_finetune_audio.py',
    '../../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes the MAViL (stage-2, AS-2M) audio encoder on VGGSound, audio only (Table 7, A).
# Table 10 "VGGSound": base lr 2e-4, batch 256 = 32 GPUs × 8, 60 epochs of 200K weighted samples,
# mixup 0.5, BCE (single-label, BCE because of mixup).
model = dict(head=dict(num_classes=309))
optim_wrapper = dict(optimizer=dict(lr=2e-4),
                     paramwise_cfg=dict(layer_decay_rate=0.75))  # layer decay as Audio-MAE (README)
