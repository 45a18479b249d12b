# AudioSet-20K fine-tuning data, audio only (no video decoding): audioset20k_finetune.py with
# its audio pipelines; one view per clip in validation and testing.
_base_ = ['./audioset20k_finetune.py']

train_dataloader = dict(dataset=dict(pipeline=_base_.audio_train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=_base_.audio_test_pipeline))
test_dataloader = dict(batch_size=8, dataset=dict(pipeline=_base_.audio_test_pipeline))
