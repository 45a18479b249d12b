# AudioSet-20K fine-tuning data, audio + video (Table 10 "AS-20K"): audioset_finetune.py with the
# balanced training segments only, shuffled (no weighted sampling); same augmentation (random
# start + cyclic roll, SpecAug 192/48, mixup 0.5) and evaluation (eval_segments.csv, mAP).
_base_ = ['./audioset_finetune.py']

train_dataloader = dict(
    sampler=dict(_delete_=True, type='DefaultSampler', shuffle=True),
    dataset=dict(_delete_=True, **_base_.train_splits[0], pipeline=_base_.train_pipeline))
