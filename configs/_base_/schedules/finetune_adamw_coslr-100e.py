# Fine-tuning schedule of Table 10 (AS-2M column): finetune_adamw_coslr-60e.py with base lr 2e-4,
# 20 linear warm-up epochs, then half-cycle cosine decay to 1e-6 until epoch 100.
_base_ = ['./finetune_adamw_coslr-60e.py']

optim_wrapper = dict(optimizer=dict(lr=2e-4))
param_scheduler = [
    dict(_base_.param_scheduler[0], end=20),
    dict(_base_.param_scheduler[1], T_max=80, begin=20, end=100),
]
train_cfg = dict(max_epochs=100, val_interval=10)
