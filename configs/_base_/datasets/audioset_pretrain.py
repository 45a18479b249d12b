# AudioSet-2M pre-training data (Table 10 "AS-2M PT", Appendix B): union of the balanced and
# unbalanced training segments; audio: 1×1024×128 Kaldi fbank with random start + cyclic roll
# ("R"), AudioSet statistics; video: 8 frames at 2 fps (4 s), multi-scale random resized crop
# (0.2, 1) to 224×224, horizontal flip 0.5. No mixup / SpecAug in pre-training.
# Layout: data/audioset/{*_segments.csv, class_labels_indices.csv, balanced_train/,
# unbalanced_train/, eval/} with clips named {ytid}_{start}_{end}.mp4 (see
# docs/en/user_guides/dataset_prepare.md).
_base_ = ['./av_transforms.py']

data_root = 'data/audioset/'
label_file = 'class_labels_indices.csv'
fbank = dict(type='AudioFbank', target_length=1024, num_mel_bins=128,
             **_base_.fbank_stats.audioset)

train_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll'),
    fbank,
    *_base_.video_train_transforms,
    _base_.pack_inputs,
]
# The test view of a clip (no augmentation, the middle 4 s of video), for the tools that embed or
# draw single clips of a pre-trained model (mavilkit.apis, visualize_reconstruction.py).
test_pipeline = [_base_.load_audio, fbank, *_base_.video_test_transforms, _base_.pack_inputs]

# One AudioSetDataset per segment CSV; the splits differ in `ann_file` and clip folder.
audioset_dataset = dict(type='AudioSetDataset', data_root=data_root, label_file=label_file)
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(audioset_dataset, ann_file='balanced_train_segments.csv',
                 data_prefix=dict(video='balanced_train'), pipeline=train_pipeline),
            dict(audioset_dataset, ann_file='unbalanced_train_segments.csv',
                 data_prefix=dict(video='unbalanced_train'), pipeline=train_pipeline),
        ]))

# Cast on the device and normalise video with ImageNet mean / std (the Runner merges this into
# `model`).
data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.)
