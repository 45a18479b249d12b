# ESC-50 fine-tuning data, audio only (Table 10 "ESC"): AST-style JSON datafiles (one per fold),
# 5 s clips → 512 fbank frames (as in AST / Audio-MAE), random start + cyclic roll ("R"),
# SpecAug 96/24, no mixup, ESC-50 statistics (-6.627, 5.359). Cross-validation: change `fold`.
# Layout: data/esc50/{esc_class_labels_indices.csv, datafiles/esc_{train,eval}_data_{fold}.json,
# audio_16k/*.wav}.
data_root = 'data/esc50/'
fold = 1
label_file = 'esc_class_labels_indices.csv'
fbank = dict(type='AudioFbank', target_length=512, num_mel_bins=128, mean=-6.627, std=5.359)

train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll'),
    fbank,
    dict(type='SpecAugment', time_mask_param=96, freq_mask_param=24),
    dict(type='PackAVInputs'),
]
test_pipeline = [dict(type='LoadAudio', sample_rate=16000), fbank, dict(type='PackAVInputs')]

train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='AVJsonDataset', data_root=data_root, label_file=label_file,
                 ann_file=f'datafiles/esc_train_data_{fold}.json', modality=('audio', ),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='AVJsonDataset', data_root=data_root, label_file=label_file,
                 ann_file=f'datafiles/esc_eval_data_{fold}.json', modality=('audio', ),
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.)
