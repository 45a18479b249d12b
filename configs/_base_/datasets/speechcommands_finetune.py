# Speech Commands v2 (SPC) fine-tuning data, audio only (Table 10 "SPC"): AST-style JSON
# datafiles, 1 s clips → 128 fbank frames (as in AST / Audio-MAE), random start + cyclic roll
# ("R") and 20 dB noise ("N"), SpecAug 48/48, mixup 0.5, SPC statistics (-6.702, 5.448).
# These are the 35-class SPC-2 datafiles; the paper's SPC-1 task (12 classes, Table 10's class
# balancing) is spc1_finetune.py.
# Layout: data/speechcommands/{speechcommands_class_labels_indices.csv,
# datafiles/speechcommand_{train,valid,eval}_data.json, audio/...wav}.
data_root = 'data/speechcommands/'
label_file = 'speechcommands_class_labels_indices.csv'
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
    dataset=dict(type='AVJsonDataset', data_root=data_root, label_file=label_file,
                 ann_file='datafiles/speechcommand_train_data.json', modality=('audio', ),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='AVJsonDataset', data_root=data_root, label_file=label_file,
                 ann_file='datafiles/speechcommand_eval_data.json', modality=('audio', ),
                 pipeline=test_pipeline, test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.5)
