_base_ = [
    '../_base_/models/mavil_classifier_vit-b.py',
    '../_base_/datasets/vggsound_finetune.py',
    '../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../_base_/default_runtime.py',
]
# MAViL fine-tuning, A, on VGGSound (single-label; BCE because of mixup; weighted sampler).
# Table 10: base lr 2e-4 (for a batch of 256; scaled to the real batch), batch 256 = 32 GPUs x 8,
# 60 epochs, drop path 0.1, mixup 0.5, BCE loss.

model = dict(
    modality='audio',
    video_backbone=None,
    fusion=None,
    head=dict(num_classes=309, loss='bce'))

# A only: no video decoding.
drop_types = ('SampleVideoFrames', 'VideoRandomResizedCrop', 'VideoFlip', 'VideoResizeCenterCrop')
train_pipeline = [t for t in _base_.train_pipeline if t['type'] not in drop_types]
test_pipeline = [t for t in _base_.test_pipeline if t['type'] not in drop_types]
multiclip_test_pipeline = test_pipeline
train_dataloader = dict(batch_size=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))

optim_wrapper = dict(optimizer=dict(lr=2e-4))

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
