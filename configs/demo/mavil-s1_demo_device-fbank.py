_base_ = ['./mavil-s1_demo.py']
# The demo pre-training with the Kaldi fbank computed batched on the device, in the data
# preprocessor (issue 13 §2): the workers only decode, downmix, roll and pad the waveform.
# Same inputs as mavil-s1_demo.py within 1e-4 (tests/test_models/test_device_fbank.py):
#   python tools/train.py configs/demo/mavil-s1_demo_device-fbank.py
# Mind the waveform padding: PrepareWaveform and the preprocessor's fbank must agree on
# target_length, sample rate and frame shift.
audio_target_length = 1024
train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll'),
    dict(type='PrepareWaveform', target_length=audio_target_length, sample_rate=16000),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size=96, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
    dict(type='PackAVInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
data_preprocessor = dict(
    type='AVDataPreprocessor',
    fbank=dict(sample_rate=16000, num_mel_bins=128, frame_shift=10.,
               target_length=audio_target_length, mean=-4.398, std=4.200))
model = dict(data_preprocessor=data_preprocessor)
