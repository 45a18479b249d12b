# Fine-tuning / evaluation data of the synthetic demo dataset (4 classes, multi-label): the
# demo pre-training pipeline (1024 fbank frames, 8×96×96 video) plus AudioSet's fine-tuning
# augmentation (roll + magnitude, SpecAug 192/48) and mixup 0.5; evaluation on
# eval_segments.csv with the test view.
_base_ = ['./demo_pretrain.py']

finetune_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll', magnitude_aug=True),
    {{_base_.fbank}},
    dict(type='SpecAugment', time_mask_param=192, freq_mask_param=48),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size={{_base_.video_size}}, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
    dict(type='PackAVInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=finetune_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='AudioSetDataset', data_root={{_base_.data_root}},
                 label_file={{_base_.label_file}}, ann_file='eval_segments.csv',
                 data_prefix=dict(video='eval'), pipeline={{_base_.test_pipeline}},
                 test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)
