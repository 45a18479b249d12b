# VGGSound fine-tuning data (Table 10 "VGGSound"): vggsound.csv as released, weighted sampling
# of 200,000 clips per epoch, random start + cyclic roll with magnitude augmentation ("R") and
# 20 dB noise ("N"), SpecAug 192/48, mixup 0.5, VGGSound statistics (-5.189, 3.260).
# Layout: data/vggsound/{vggsound.csv, video/{ytid}_{start:06d}.mp4}.
data_root = 'data/vggsound/'
fbank = dict(type='AudioFbank', target_length=1024, num_mel_bins=128, mean=-5.189, std=3.260)

train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll', magnitude_aug=True),
    dict(type='AudioAddNoise', snr_db=20.),
    fbank,
    dict(type='SpecAugment', time_mask_param=192, freq_mask_param=48),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size=224, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
    dict(type='PackAVInputs'),
]
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    fbank,
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=224),
    dict(type='PackAVInputs'),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DistributedWeightedSampler', num_samples=200000),
    dataset=dict(type='VGGSoundDataset', data_root=data_root, ann_file='vggsound.csv',
                 split='train', data_prefix=dict(video='video'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='VGGSoundDataset', data_root=data_root, ann_file='vggsound.csv',
                 split='test', data_prefix=dict(video='video'), pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)
