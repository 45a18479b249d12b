# AudioSet-2M fine-tuning data, audio + video (Table 10 "AS-2M"): balanced + unbalanced training
# segments drawn by the distributed weighted sampler (200,000 clips per epoch, Appendix B), random
# start + cyclic roll with magnitude augmentation (§4.2), SpecAug 192/48, mixup 0.5; validation on
# eval_segments.csv with one test view (middle 4 s, resize + centre crop), testing with 10 clips
# per video (Table 11). mAP metric.
# The recipe of AST / Audio-MAE (issue 11): the workers decode and roll the waveform
# (PrepareWaveform); the data preprocessor mixes waveforms (each sample with probability 0.5,
# λ ~ Beta(10, 10), labels and frames with the same λ), computes the fbank, masks it (SpecAugment,
# before normalisation) and normalises, on the device.
_base_ = ['./av_transforms.py']

data_root = 'data/audioset/'
label_file = 'class_labels_indices.csv'
# The fbank computed by AVDataPreprocessor (BatchedKaldiFbank arguments).
fbank = dict(target_length=1024, num_mel_bins=128, **_base_.fbank_stats.audioset)
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

# One AudioSetDataset per segment CSV; the splits differ in `ann_file` and clip folder.
audioset_dataset = dict(type='AudioSetDataset', data_root=data_root, label_file=label_file)
train_splits = [
    dict(audioset_dataset, ann_file='balanced_train_segments.csv',
         data_prefix=dict(video='balanced_train')),
    dict(audioset_dataset, ann_file='unbalanced_train_segments.csv',
         data_prefix=dict(video='unbalanced_train')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DistributedWeightedSampler', num_samples=200000),
    dataset=dict(type='ConcatDataset',
                 datasets=[dict(split, pipeline=train_pipeline) for split in train_splits]))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(audioset_dataset, ann_file='eval_segments.csv', data_prefix=dict(video='eval'),
                 pipeline=test_pipeline, test_mode=True))
# 10 clips of 8×224×224 per video: 2 videos per GPU.
test_dataloader = dict(val_dataloader, batch_size=2,
                       dataset=dict(val_dataloader['dataset'], pipeline=multiclip_test_pipeline))

data_preprocessor = dict(
    type='AVDataPreprocessor',
    fbank=fbank,
    mixup_prob=0.5,
    mixup_beta=10.,
    spec_augment=dict(time_mask_param=192, freq_mask_param=48))

val_evaluator = dict(type='AudioSetMAP')
test_evaluator = val_evaluator
