_base_ = [
    '../../_base_/models/mavil_vit-b_audio-cls_short-clip.py',
    '../../_base_/datasets/esc50_finetune.py',
    '../../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes the MAViL (stage-2, AS-2M) audio encoder on ESC-50 (Table 8). Table 10 "ESC": base
# lr 1e-3, batch 64 = 4 GPUs × 16, 60 epochs, no mixup, CE loss, SpecAug 96/24. 5-s clips
# (512 fbank frames): the first 32 of the checkpoint's 64 time rows of position embeddings.
# ESC-50 is evaluated by 5-fold cross-validation: run folds 1..5 and average the top-1 accuracy,
#   for f in 1 2 3 4 5; do python tools/train.py THIS_CONFIG --cfg-options \
#     train_dataloader.dataset.ann_file=datafiles/esc_train_data_$f.json \
#     val_dataloader.dataset.ann_file=datafiles/esc_eval_data_$f.json \
#     test_dataloader.dataset.ann_file=datafiles/esc_eval_data_$f.json \
#     --work-dir work_dirs/esc50_fold$f; done
# (docs/en/user_guides/finetune.md has a script that also averages the results).
model = dict(audio_backbone=dict(input_size=(512, 128)), head=dict(num_classes=50, loss='ce'))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))  # layer decay as Audio-MAE (README)
