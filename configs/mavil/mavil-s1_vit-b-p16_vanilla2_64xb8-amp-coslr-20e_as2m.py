_base_ = [
    '../_base_/models/mavil_vit-b.py',
    '../_base_/datasets/audioset_pretrain.py',
    '../_base_/schedules/mavil_pretrain_adamw_coslr-20e.py',
    '../_base_/default_runtime.py',
]
# MAViL stage 1 on AS-2M, the paper's default (Table 10 "AS-2M PT"): ViT-B audio and video
# encoders, 80 % masking, 2 vanilla fusion layers, raw targets, inter- + intra-modal InfoNCE,
# video encoder from ImageNet MAE. 64 GPUs × 8 clips = batch 512 → lr 2e-4 · 512 / 256.

train_dataloader = dict(batch_size=8, num_workers=8)

optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_last=True))

# Fig. 3 of the paper draws reconstructions with 70 % of the tokens masked.
custom_hooks = [
    dict(type='ReconstructionVisualizationHook', interval=5000, max_samples=2, mask_ratio=0.7)
]
