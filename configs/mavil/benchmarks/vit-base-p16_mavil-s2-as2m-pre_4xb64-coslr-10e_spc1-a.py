_base_ = [
    '../../_base_/models/mavil_vit-b_audio-cls_short-clip.py',
    '../../_base_/datasets/spc1_finetune.py',
    '../../_base_/schedules/finetune_adamw_coslr-10e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes the MAViL (stage-2, AS-2M) audio encoder on Speech Commands v1, 12 classes (Table 8
# "SPC-1"). Table 10 "SPC": base lr 1e-3, batch 256 = 4 GPUs × 64, 10 epochs, 1 warm-up epoch,
# mixup 0.5 with BCE, SpecAug 48/48, R+N augmentation, classes repeated to 50 % of _unknown_
# (footnote *). 1-s clips (128 fbank frames): the first 8 of the checkpoint's 64 time rows of
# position embeddings.
model = dict(audio_backbone=dict(input_size=(128, 128)), head=dict(num_classes=12))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))  # layer decay as Audio-MAE (README)
