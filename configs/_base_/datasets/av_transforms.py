# Named pieces that the dataset configs compose into their pipelines: the fbank statistics of
# Table 10 and the 4-second video clip transforms of Appendix B (8 frames at 2 fps, 224×224).
# A pipeline is audio transforms + video transforms + `pack_inputs`; audio-only and video-only
# variants leave one part out by building from the pieces, never by filtering a longer list.

# Kaldi-fbank normalisation statistics (mean and std of the log-mel values of each training set,
# Table 10; AudioFbank computes (x - mean) / (2 std)). The first four equal
# mavilkit.datasets.transforms.audio.FBANK_STATS; `demo` is the synthetic demo dataset's
# (`python tools/data/compute_fbank_stats.py configs/_base_/datasets/demo_pretrain.py`).
fbank_stats = dict(
    audioset=dict(mean=-4.268, std=4.569),
    vggsound=dict(mean=-5.189, std=3.260),
    esc50=dict(mean=-6.627, std=5.359),
    speechcommands=dict(mean=-6.702, std=5.448),
    demo=dict(mean=-4.398, std=4.200),
)

load_audio = dict(type='LoadAudio', sample_rate=16000)
pack_inputs = dict(type='PackAVInputs')

# Training: multi-scale random resized crop (0.2, 1) and horizontal flip (Appendix B).
video_train_transforms = [
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size=224, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
]
# Testing: no augmentation; one clip (validation) or 10 uniformly spaced clips whose predictions
# the classifier averages (Appendix B "Inference", Table 11).
video_test_transforms = [
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=1, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=224),
]
video_multiclip_test_transforms = [
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=10, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=224),
]

# Video-only pipelines (the `_video` dataset variants).
video_train_pipeline = [*video_train_transforms, pack_inputs]
video_test_pipeline = [*video_test_transforms, pack_inputs]
video_multiclip_test_pipeline = [*video_multiclip_test_transforms, pack_inputs]
