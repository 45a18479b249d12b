# Speech Commands v1 "SPC-1" fine-tuning data, audio only (MAViL Tables 8 and 10, "SPC"): the
# 12-class task (10 keywords, _silence_, _unknown_) read from the release folder by
# SpeechCommandsDataset. 1 s clips → 128 fbank frames (as in AST / Audio-MAE), random start +
# cyclic roll ("R") and 20 dB noise ("N"), SpecAug 48/48, mixup 0.5, SPC statistics; top-1/5
# accuracy. Training repeats each class to 50 % of the unknown class (Table 10 *).
# Layout: data/speech_commands_v0.01/{<word>/<speaker>_nohash_<n>.wav, validation_list.txt,
# testing_list.txt, _background_noise_/*.wav}.
_base_ = ['./av_transforms.py']

data_root = 'data/speech_commands_v0.01/'
fbank = dict(type='AudioFbank', target_length=128, num_mel_bins=128,
             **_base_.fbank_stats.speechcommands)

train_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll'),
    dict(type='AudioAddNoise', snr_db=20.),
    fbank,
    dict(type='SpecAugment', time_mask_param=48, freq_mask_param=48),
    _base_.pack_inputs,
]
test_pipeline = [_base_.load_audio, fbank, _base_.pack_inputs]

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

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
