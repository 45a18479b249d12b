# Speech Commands v1 "SPC-1" fine-tuning data, audio only (MAViL Tables 8 and 10, "SPC"): the
# 12-class task (10 keywords, _silence_, _unknown_) read from the release folder by
# SpeechCommandsDataset. 1 s clips → 128 fbank frames (as in AST / Audio-MAE), random start +
# cyclic roll ("R") and 20 dB noise ("N"), SpecAug 48/48, mixup 0.5, SPC statistics
# (-6.702, 5.448). Training repeats each class to 50 % of the unknown class (Table 10 *).
# Layout: data/speech_commands_v0.01/{<word>/<speaker>_nohash_<n>.wav, validation_list.txt,
# testing_list.txt, _background_noise_/*.wav}.
data_root = 'data/speech_commands_v0.01/'
fbank = dict(type='AudioFbank', target_length=128, num_mel_bins=128, mean=-6.702, std=5.448)

train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll'),
    dict(type='AudioAddNoise', snr_db=20.),
    fbank,
    dict(type='SpecAugment', time_mask_param=48, freq_mask_param=48),
    dict(type='PackAVInputs'),
]
test_pipeline = [dict(type='LoadAudio', sample_rate=16000), fbank, dict(type='PackAVInputs')]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='SpeechCommandsDataset', data_root=data_root, split='train', task='spc1',
                 balance_classes=True, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SpeechCommandsDataset', data_root=data_root, split='val', task='spc1',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='SpeechCommandsDataset', data_root=data_root, split='test', task='spc1',
                 pipeline=test_pipeline, test_mode=True))

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)
