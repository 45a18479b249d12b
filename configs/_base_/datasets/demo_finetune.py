# Fine-tuning / evaluation data of the synthetic demo dataset (4 classes, multi-label): the
# demo pre-training data (1024 fbank frames, 8×96×96 video) with AudioSet's fine-tuning recipe
# (roll + magnitude; on the device: mixup 0.5 of waveforms, fbank, SpecAug 192/48 before
# normalisation, as audioset_finetune.py); evaluation on eval_segments.csv with the test view.
# `multiclip_test_pipeline` tests 3 clips per video.
_base_ = ['./demo_pretrain.py']

device_fbank = dict(target_length=_base_.audio_target_length, num_mel_bins=128,
                    **_base_.fbank_stats.demo)
prepare_waveform = dict(type='PrepareWaveform', target_length=_base_.audio_target_length)
finetune_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll', magnitude_aug=True),
    prepare_waveform,
    *_base_.demo_video_train_transforms,
    _base_.pack_inputs,
]
test_pipeline = [
    _base_.load_audio, prepare_waveform, *_base_.demo_video_test_transforms, _base_.pack_inputs
]
multiclip_test_pipeline = [
    _base_.load_audio,
    prepare_waveform,
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
                 data_prefix=dict(video='eval'), pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(
    _delete_=True,
    type='AVDataPreprocessor',
    fbank=device_fbank,
    mixup_prob=0.5,
    mixup_beta=10.,
    spec_augment=dict(time_mask_param=192, freq_mask_param=48))
