# Fine-tuning / evaluation data of the synthetic demo dataset (4 classes, multi-label): the
# demo pre-training pipeline (1024 fbank frames, 8×96×96 video) plus AudioSet's fine-tuning
# augmentation (roll + magnitude, SpecAug 192/48) and mixup 0.5; evaluation on
# eval_segments.csv with the test view. `multiclip_test_pipeline` tests 3 clips per video.
_base_ = ['./demo_pretrain.py']

finetune_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll', magnitude_aug=True),
    _base_.fbank,
    dict(type='SpecAugment', time_mask_param=192, freq_mask_param=48),
    *_base_.demo_video_train_transforms,
    _base_.pack_inputs,
]
multiclip_test_pipeline = [
    _base_.load_audio,
    _base_.fbank,
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=3, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=_base_.video_size),
    _base_.pack_inputs,
]

train_dataloader = dict(dataset=dict(pipeline=finetune_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(_base_.demo_dataset, ann_file='eval_segments.csv',
                 data_prefix=dict(video='eval'), pipeline=_base_.test_pipeline, test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)
