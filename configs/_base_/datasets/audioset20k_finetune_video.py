# AudioSet-20K fine-tuning data, video only (no audio decoding): audioset20k_finetune.py with
# the video pipelines of av_transforms.py; one clip per video in validation, 10 in testing
# (Table 11).
_base_ = ['./audioset20k_finetune.py']

train_dataloader = dict(dataset=dict(pipeline=_base_.video_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.video_test_pipeline))
test_dataloader = dict(dataset=dict(pipeline=_base_.video_multiclip_test_pipeline))
