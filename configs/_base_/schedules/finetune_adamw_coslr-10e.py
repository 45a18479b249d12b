# Fine-tuning schedule of Table 10 (SPC column): finetune_adamw_coslr-60e.py (base lr 1e-3) with
# 1 linear warm-up epoch, then half-cycle cosine decay to 1e-6 until epoch 10.
_base_ = ['./finetune_adamw_coslr-60e.py']

param_scheduler = [
    dict(_base_.param_scheduler[0], end=1),
    dict(_base_.param_scheduler[1], T_max=9, begin=1, end=10),
]
train_cfg = dict(max_epochs=10, val_interval=1)
