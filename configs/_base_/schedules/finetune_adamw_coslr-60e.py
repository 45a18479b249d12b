# Fine-tuning schedule of Table 10 (AS-20K, VGGSound, ESC-50 columns): AdamW β = (0.9, 0.95),
# weight decay 1e-5, 4 linear warm-up epochs, then half-cycle cosine decay to 1e-6, 60 epochs,
# no gradient clipping; base lr 1e-3. The lr given in a config is the base lr for a total batch
# of 256 (lr_eff = lr_base · batch / 256, Appendix B); auto_scale_lr applies it to the real total
# batch. Norms, biases, position embeddings and CLS tokens get no weight decay
# (LayerDecayOptimWrapperConstructor). Table 10 lists no layer-wise lr decay: each fine-tuning
# config states its `layer_decay_rate` in one documented line (configs/mavil/README.md).
# finetune_adamw_coslr-{10e,100e}.py change the lengths.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.95), weight_decay=1e-5),
    constructor='LayerDecayOptimWrapperConstructor')

param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=4,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=56, eta_min=1e-6, by_epoch=True, begin=4,
         end=60, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=60, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

auto_scale_lr = dict(base_batch_size=256, enable=True)
