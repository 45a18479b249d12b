_base_ = [
    '../_base_/models/mavil_classifier_vit-b.py',
    '../_base_/datasets/esc50_finetune.py',
    '../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../_base_/default_runtime.py',
]
# MAViL audio fine-tuning on ESC-50 (Table 8). Table 10 "ESC": base lr 1e-3, batch 64 = 4 GPUs x
# 16, 60 epochs, drop path 0.1, no mixup, CE loss, SpecAug 96/24, ESC-50 statistics.
# ESC-50 is evaluated by 5-fold cross-validation: run folds 1..5 and average the top-1 accuracy,
#   for f in 1 2 3 4 5; do python tools/train.py THIS_CONFIG --cfg-options fold=$f \
#     train_dataloader.dataset.ann_file=datafiles/esc_train_data_$f.json \
#     val_dataloader.dataset.ann_file=datafiles/esc_eval_data_$f.json \
#     test_dataloader.dataset.ann_file=datafiles/esc_eval_data_$f.json \
#     --work-dir work_dirs/esc50_fold$f; done
# (docs/en/user_guides/finetune.md has a script that also averages the results).
# The clips are 5 s (512 fbank frames): the encoder takes the first 32 of the checkpoint's 64 time
# rows of position embeddings (crop_pos_embed), so the encoder is loaded per branch with a prefix.
pretrained = 'checkpoints/mavil_vit-b_as2m_stage2.pth'
model = dict(
    modality='audio',
    audio_backbone=dict(
        input_size=(512, 128),
        init_cfg=dict(type='Pretrained', checkpoint=pretrained, prefix='audio_backbone.',
                      crop_pos_embed=True)),
    video_backbone=None,
    fusion=None,
    head=dict(num_classes=50, loss='ce'),
    init_cfg=None)

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=16)
test_dataloader = dict(batch_size=16)

optim_wrapper = dict(optimizer=dict(lr=1e-3))

val_evaluator = dict(type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
