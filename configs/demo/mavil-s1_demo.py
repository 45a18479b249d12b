_base_ = [
    '../_base_/datasets/demo_pretrain.py',
    '../_base_/default_runtime.py',
]
# MAViL stage 1 in miniature: the full algorithm (80 % masking, vanilla fusion, raw targets,
# Eq. 4 with α = 0.1, β = 0.01) with tiny ViTs (64 dims, 2 layers, 4 heads) on the synthetic demo
# clips (`python tools/data/make_demo_dataset.py data/demo`). Runs on 2 CPU cores in a few
# minutes and writes checkpoints, TensorBoard scalars and reconstruction images to
# work_dirs/mavil-s1_demo. The input sizes below must match the demo pipeline's fbank length and
# crop size.
model = dict(
    type='MAViL',
    audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(1024, 128), patch_size=16),
    video_backbone=dict(
        type='VideoViT', arch='tiny', input_size=(8, 96, 96), patch_size=(2, 16, 16)),
    neck=dict(type='VanillaFusion', num_layers=1),
    audio_decoder=dict(type='MAEDecoder', embed_dims=64, num_layers=1, num_heads=4),
    video_decoder=dict(type='MAEDecoder', embed_dims=64, num_layers=1, num_heads=4),
    # Raw targets without per-patch normalisation, unlike the AS-2M configs: most patches of
    # the synthetic frames are flat background (configs/mavil/README.md, open choices).
    target_generator=dict(type='RawTarget', norm_pix=False),
    rec_loss=dict(type='MaskedReconstructionLoss'),
    inter_loss=dict(type='InfoNCELoss', temperature=0.1),
    intra_loss=dict(type='InfoNCELoss', temperature=1.0),
    inter_weight=0.1,
    intra_weight=0.01,
    mask_ratio=0.8)

# Table 10's optimiser; a larger lr than 2e-4 · batch / 256 so that a tiny model learns visibly
# within a few epochs.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=1e-5))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=29, eta_min=1e-5, by_epoch=True, begin=1, end=30,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=5),
    checkpoint=dict(type='CheckpointHook', interval=2, max_keep_ckpts=2, save_last=True))
custom_hooks = [
    dict(type='ReconstructionVisualizationHook', interval=90, max_samples=2, mask_ratio=0.7,
         paste_visible=True)
]
