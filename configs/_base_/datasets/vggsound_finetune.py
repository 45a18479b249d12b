# VGGSound fine-tuning data, audio + video (Table 10 "VGGSound"): vggsound.csv as released,
# weighted sampling of 200,000 clips per epoch, random start + cyclic roll with magnitude
# augmentation ("R") and 20 dB noise ("N"), SpecAug 192/48, mixup 0.5, VGGSound statistics;
# validation with one test view, testing with 10 clips per video (Table 11); top-1/5 accuracy.
# Mixup, fbank, SpecAugment (before normalisation) and the 20 dB spectrogram noise run in the data
# preprocessor on the device, as audioset_finetune.py explains.
# Layout: data/vggsound/{vggsound.csv, video/{ytid}_{start:06d}.mp4}.
_base_ = ['./av_transforms.py']

data_root = 'data/vggsound/'
fbank = dict(target_length=1024, num_mel_bins=128, **_base_.fbank_stats.vggsound)
prepare_waveform = dict(type='PrepareWaveform', target_length=fbank['target_length'])

audio_train_transforms = [
    _base_.load_audio,
    dict(type='AudioRandomRoll', magnitude_aug=True),
    prepare_waveform,
]
audio_test_transforms = [_base_.load_audio, prepare_waveform]

# Audio + video (the loaders below); audio only (the `_audio` variant).
train_pipeline = [*audio_train_transforms, *_base_.video_train_transforms, _base_.pack_inputs]
test_pipeline = [*audio_test_transforms, *_base_.video_test_transforms, _base_.pack_inputs]
multiclip_test_pipeline = [
    *audio_test_transforms, *_base_.video_multiclip_test_transforms, _base_.pack_inputs
]
audio_train_pipeline = [*audio_train_transforms, _base_.pack_inputs]
audio_test_pipeline = [*audio_test_transforms, _base_.pack_inputs]

vggsound_dataset = dict(type='VGGSoundDataset', data_root=data_root, ann_file='vggsound.csv',
                        data_prefix=dict(video='video'))
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DistributedWeightedSampler', num_samples=200000),
    dataset=dict(vggsound_dataset, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(vggsound_dataset, split='test', pipeline=test_pipeline, test_mode=True))
# 10 clips of 8×224×224 per video: 2 videos per GPU.
test_dataloader = dict(val_dataloader, batch_size=2,
                       dataset=dict(val_dataloader['dataset'], pipeline=multiclip_test_pipeline))

data_preprocessor = dict(
    type='AVDataPreprocessor',
    fbank=fbank,
    mixup_prob=0.5,
    mixup_beta=10.,
    spec_augment=dict(time_mask_param=192, freq_mask_param=48),
    noise_snr_db=20.)

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
