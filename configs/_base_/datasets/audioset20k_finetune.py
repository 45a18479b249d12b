# AudioSet-20K fine-tuning data (Table 10 "AS-20K"): balanced training segments, shuffled (no
# weighted sampling), random start + cyclic roll, SpecAug 192/48, mixup 0.5; evaluation on
# eval_segments.csv.
_base_ = ['./audioset_finetune.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(
        _delete_=True,
        type='AudioSetDataset',
        data_root={{_base_.data_root}},
        label_file={{_base_.label_file}},
        ann_file='balanced_train_segments.csv',
        data_prefix=dict(video='balanced_train'),
        pipeline={{_base_.train_pipeline}}))
