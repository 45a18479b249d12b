_base_ = [
    '../_base_/models/mavil_vit-b.py',
    '../_base_/datasets/howto100m_pretrain.py',
    '../_base_/schedules/mavil_pretrain_adamw_coslr-20e.py',
    '../_base_/default_runtime.py',
]
# MAViL stage 1 pre-trained on HowTo100M instead of AS-2M (§4.5, Table 9 "MAViL HT-100M"): the
# default model, schedule and batch (64 GPUs × 8 clips, bf16) on one random 4-s window per video
# and epoch. The paper gives no HowTo100M schedule: 20 epochs over the video list, as on AS-2M.
optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16')
custom_hooks = [
    dict(type='ReconstructionVisualizationHook', interval=5000, max_samples=2, mask_ratio=0.7)
]
