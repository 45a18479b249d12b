_base_ = [
    '../_base_/datasets/demo_finetune.py',
    '../_base_/default_runtime.py',
]
# A+V fine-tuning in miniature (§4.3, Appendix B) on the synthetic demo clips: the encoders of the
# demo stage-1 run (`python tools/train.py configs/demo/mavil-s1_demo.py`), a 3-layer vanilla
# fusion Transformer, mean pools concatenated, linear head; BCE with mixup 0.5, drop path 0.1,
# 20 % time/frequency and time/space fine-tuning masking, the video encoder at half the lr.
# Multi-label mAP on the eval split, tested with 3 clips per video. About a minute on 2 CPU cores.
#   python tools/train.py configs/demo/finetune-av_demo.py
#   python tools/test.py configs/demo/finetune-av_demo.py work_dirs/finetune-av_demo/epoch_8.pth
pretrained = 'work_dirs/mavil-s1_demo/epoch_30.pth'
model = dict(
    type='AVClassifier',
    modality='audio_video',
    audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(1024, 128), drop_path_rate=0.1),
    video_backbone=dict(type='VideoViT', arch='tiny', input_size=(8, 96, 96),
                        drop_path_rate=0.1),
    fusion=dict(type='VanillaFusion', num_layers=3, drop_path_rate=0.1),
    head=dict(type='AVClsHead', num_classes=4, loss='bce'),
    audio_mask_ratios=(0.2, 0.2),
    video_mask_ratios=(0.2, 0.2),
    init_cfg=dict(type='Pretrained', checkpoint=pretrained))

# Table 10's optimiser with a larger lr for the tiny model and the few steps.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.95), weight_decay=1e-5),
    constructor='LayerDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=1.0,  # off, unlike the benchmarks: 2-block encoders, few steps
        custom_keys={'video_backbone.': dict(lr_mult=0.5)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=7, eta_min=1e-5, by_epoch=True, begin=1, end=8,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=8, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

multiclip_test_pipeline = [
    dict(t, num_clips=3) if t['type'] == 'SampleVideoFrames' else t
    for t in _base_.test_pipeline
]
test_dataloader = dict(dataset=dict(pipeline=multiclip_test_pipeline))
val_evaluator = dict(type='AudioSetMAP')
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=1, save_last=True))
