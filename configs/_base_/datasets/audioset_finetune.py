# AudioSet-2M fine-tuning data (Table 10 "AS-2M"): balanced + unbalanced training segments drawn
# by the distributed weighted sampler (200,000 clips per epoch, Appendix B), random start +
# cyclic roll with magnitude augmentation (§4.2), SpecAug 192/48, mixup 0.5; evaluation on
# eval_segments.csv with the test view (middle 4 s, resize + centre crop).
data_root = 'data/audioset/'
label_file = 'class_labels_indices.csv'

train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll', magnitude_aug=True),
    dict(type='AudioFbank', target_length=1024, num_mel_bins=128, mean=-4.268, std=4.569),
    dict(type='SpecAugment', time_mask_param=192, freq_mask_param=48),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size=224, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
    dict(type='PackAVInputs'),
]
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioFbank', target_length=1024, num_mel_bins=128, mean=-4.268, std=4.569),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=1, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=224),
    dict(type='PackAVInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DistributedWeightedSampler', num_samples=200000),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(type='AudioSetDataset', data_root=data_root, label_file=label_file,
                 ann_file='balanced_train_segments.csv',
                 data_prefix=dict(video='balanced_train'), pipeline=train_pipeline),
            dict(type='AudioSetDataset', data_root=data_root, label_file=label_file,
                 ann_file='unbalanced_train_segments.csv',
                 data_prefix=dict(video='unbalanced_train'), pipeline=train_pipeline),
        ]))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='AudioSetDataset', data_root=data_root, label_file=label_file,
                 ann_file='eval_segments.csv', data_prefix=dict(video='eval'),
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)
