# MAViL pre-training schedule, Table 10 (AS-2M PT column): AdamW β=(0.9, 0.95), weight decay
# 1e-5, base lr 2e-4 for a batch of 256 (lr_eff = lr_base · batch / 256, Appendix B), 4 linear
# warm-up epochs, then half-cycle cosine decay to 1e-6; 20 epochs; no gradient clipping.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.95), weight_decay=1e-5),
    # As in MAE: no weight decay on norms, biases and learned tokens.
    paramwise_cfg=dict(
        norm_decay_mult=0.0,
        bias_decay_mult=0.0,
        custom_keys={
            'cls_token': dict(decay_mult=0.0),
            'mask_token': dict(decay_mult=0.0),
            'bottleneck': dict(decay_mult=0.0),
        }))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=4,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=16,
        eta_min=1e-6,
        by_epoch=True,
        begin=4,
        end=20,
        convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20)

# The lr above is for a total batch of 256; enabled, so that any number of GPUs × batch per GPU
# trains with lr_base · total_batch / 256 (Table 10: 512 → 4e-4).
auto_scale_lr = dict(base_batch_size=256, enable=True)
