# AudioSet evaluation with multi-clip video testing (Table 11: 10 uniformly spaced 4-second
# clips per video). Video batches are (B, 10, 3, 8, 224, 224) after AVDataPreprocessor; the
# classifier averages its predictions over the clip axis.
_base_ = ['./audioset_finetune.py']

num_test_clips = 10
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioFbank', target_length=1024, num_mel_bins=128, mean=-4.268, std=4.569),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=num_test_clips,
         test_mode=True),
    dict(type='VideoResizeCenterCrop', size=224),
    dict(type='PackAVInputs'),
]
test_dataloader = dict(
    batch_size=2,
    dataset=dict(pipeline=test_pipeline))
