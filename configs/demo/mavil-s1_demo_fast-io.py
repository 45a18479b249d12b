_base_ = ['./mavil-s1_demo_device-fbank.py']
# The demo pre-training with the performance levers of docs/en/advanced_guides/performance.md
# switched on together (issue 13): the fbank on the device (from the base), the PyAV frame reader
# that skips non-reference frames and crops in YUV before the RGB conversion, and the logging hook
# that copies logged values to the host once per logger interval instead of every iteration.
#   python tools/train.py configs/demo/mavil-s1_demo_fast-io.py
train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll'),
    dict(type='PrepareWaveform', target_length=_base_.audio_target_length, sample_rate=16000),
    # replaces SampleVideoFrames + VideoRandomResizedCrop: same frames, same crop box per seed
    dict(type='SampleVideoFramesPyAV', clip_len=8, frame_rate=2, crop_size=96,
         crop_scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
    dict(type='PackAVInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
default_hooks = dict(runtime_info=dict(type='SyncFreeRuntimeInfoHook'))
