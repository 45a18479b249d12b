# ESC-50 fine-tuning data, audio only (Table 10 "ESC"): AST-style JSON datafiles (one per fold),
# 5 s clips → 512 fbank frames (as in AST / Audio-MAE), random start + cyclic roll with magnitude
# augmentation ("R", §4.3), SpecAug 96/24 (masked bins hold the normalised zero, as masking before
# normalisation), no mixup, ESC-50 statistics; top-1/5 accuracy. Cross-validation: change `fold`.
# Layout: data/esc50/{esc_class_labels_indices.csv, datafiles/esc_{train,eval}_data_{fold}.json,
# audio_16k/*.wav}.
_base_ = ['./av_transforms.py']

data_root = 'data/esc50/'
fold = 1
label_file = 'esc_class_labels_indices.csv'
fbank = dict(type='AudioFbank', target_length=512, num_mel_bins=128, **_base_.fbank_stats.esc50)

train_pipeline = [
    _base_.load_audio,
    dict(type='AudioRandomRoll', magnitude_aug=True),
    fbank,
    dict(type='SpecAugment', time_mask_param=96, freq_mask_param=24),
    _base_.pack_inputs,
]
test_pipeline = [_base_.load_audio, fbank, _base_.pack_inputs]

esc50_dataset = dict(type='AVJsonDataset', data_root=data_root, label_file=label_file,
                     modality=('audio', ))
train_dataloader = dict(
    batch_size=16,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(esc50_dataset, ann_file=f'datafiles/esc_train_data_{fold}.json',
                 pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(esc50_dataset, ann_file=f'datafiles/esc_eval_data_{fold}.json',
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_prob=0.)

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
