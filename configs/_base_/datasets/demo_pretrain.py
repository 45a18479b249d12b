# Pre-training data of the synthetic demo dataset (tools/data/make_demo_dataset.py data/demo):
# 72 train clips of 4 audio-visual event classes in AudioSet's layout. Same pipeline as
# audioset_pretrain.py (1×1024×128 fbank of the 10 s clip, 8 frames at 2 fps) with a frame
# size matching the 96×96 demo clips: video crops are resized to 96×96 (4×6×6 tubelets of
# 2×16×16) instead of 224×224. Models for this data use AudioViT(input_size=(1024, 128)) and
# VideoViT(input_size=(8, 96, 96)). Fbank statistics: `fbank_stats.demo` (av_transforms.py).
_base_ = ['./av_transforms.py']

data_root = 'data/demo/'
label_file = 'class_labels_indices.csv'
audio_target_length = 1024
video_size = 96
fbank = dict(type='AudioFbank', target_length=audio_target_length, num_mel_bins=128,
             **_base_.fbank_stats.demo)

demo_video_train_transforms = [
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size=video_size, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
]
demo_video_test_transforms = [
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=video_size),
]
train_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll'),
    fbank,
    *demo_video_train_transforms,
    _base_.pack_inputs,
]
test_pipeline = [_base_.load_audio, fbank, *demo_video_test_transforms, _base_.pack_inputs]

demo_dataset = dict(type='AudioSetDataset', data_root=data_root, label_file=label_file)
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(demo_dataset, ann_file='balanced_train_segments.csv',
                 data_prefix=dict(video='balanced_train'), pipeline=train_pipeline))

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.)
