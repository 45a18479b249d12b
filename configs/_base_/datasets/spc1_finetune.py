# Speech Commands v1 "SPC-1" fine-tuning data, audio only (MAViL Tables 8 and 10, "SPC"): the
# 12-class task (10 keywords, _silence_, _unknown_) read from the release folder by
# SpeechCommandsDataset. 1 s clips → 128 fbank frames (as in AST / Audio-MAE), random start +
# cyclic roll with magnitude augmentation ("R", §4.3), 20 dB spectrogram noise ("N"), SpecAug
# 48/48, mixup 0.5, SPC statistics; top-1/5 accuracy. Training repeats each class to 50 % of the
# unknown class (Table 10 *). Mixup, fbank, SpecAugment and noise run in the data preprocessor.
# Layout: data/speech_commands_v0.01/{<word>/<speaker>_nohash_<n>.wav, validation_list.txt,
# testing_list.txt, _background_noise_/*.wav}.
_base_ = ['./av_transforms.py']

data_root = 'data/speech_commands_v0.01/'
fbank = dict(target_length=128, num_mel_bins=128, **_base_.fbank_stats.speechcommands)
prepare_waveform = dict(type='PrepareWaveform', target_length=fbank['target_length'])

train_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll', magnitude_aug=True),
    prepare_waveform,
    _base_.pack_inputs,
]
test_pipeline = [_base_.load_audio, prepare_waveform, _base_.pack_inputs]

spc1_dataset = dict(type='SpeechCommandsDataset', data_root=data_root, task='spc1')
train_dataloader = dict(
    batch_size=64,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(spc1_dataset, split='train', balance_classes=True, pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(spc1_dataset, split='val', pipeline=test_pipeline, test_mode=True))
test_dataloader = dict(val_dataloader, dataset=dict(val_dataloader['dataset'], split='test'))

data_preprocessor = dict(
    type='AVDataPreprocessor',
    fbank=fbank,
    mixup_prob=0.5,
    mixup_beta=10.,
    spec_augment=dict(time_mask_param=48, freq_mask_param=48),
    noise_snr_db=20.)

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
