default_scope = 'mavilkit'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # Counts clips replaced because their media could not be read, reported at epoch end.
    bad_media=dict(type='BadMediaHook'),
)

# mavilkit.apis.build_runner resolves backend='auto': nccl on GPUs, gloo on CPUs.
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='auto'),
)

vis_backends = [dict(type='LocalVisBackend'), dict(type='TensorboardVisBackend')]
# No fixed `name`: mmengine then names the visualizer after the experiment, so several Runners in
# one process (tests, notebooks) each write to their own work dir.
visualizer = dict(type='Visualizer', vis_backends=vis_backends)

log_processor = dict(window_size=10, by_epoch=True)
log_level = 'INFO'

load_from = None
resume = False

# diff_rank_seed: each process draws its own masks and augmentations (DDP still starts every
# rank from rank 0's weights).
randomness = dict(seed=0, deterministic=False, diff_rank_seed=True)

# No custom hooks here: mavilkit.apis.build_runner (tools/train.py, tools/test.py) adds the
# RNGStateHook to every run, whatever `custom_hooks` a config sets, so that resumed runs continue
# the random draws (masking, mixup, worker seeds) exactly.
