"""Build an mmengine Runner from a mavilkit config (the library side of ``tools/train.py`` and
``tools/test.py``)."""
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner

from mavilkit.utils import (add_trusted_root, cpu_ddp_wrapper_cfg, init_distributed,
                            register_all_modules, resolve_dist_cfg)
from mavilkit.utils.threads import apply_thread_budget, describe_thread_budget

#: Added to every run by :func:`build_runner` (the one place it is declared): checkpoints then
#: hold the random-number states of every process, so a resumed run continues its masking,
#: mixup and worker seeds exactly, whatever ``custom_hooks`` a config sets.
RNG_STATE_HOOK = dict(type='RNGStateHook')


def default_work_dir(config_path: str) -> str:
    """``./work_dirs/<config file name without .py>``, mmengine's convention."""
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])


def build_runner(cfg: Config) -> Runner:
    """Prepare the environment for ``cfg`` and build its Runner.

    Registers mavilkit's modules, trusts checkpoints under ``cfg.work_dir``, resolves
    ``env_cfg.dist_cfg.backend='auto'`` (nccl on GPUs, gloo on CPUs), appends
    :data:`RNG_STATE_HOOK` to ``cfg.custom_hooks`` unless it is there, gives every dataloader
    with workers ``mavilkit.av_worker_init_fn`` (per-epoch augmentation streams seeded from
    ``randomness.seed``) and one thread each (``mavilkit.utils.threads``: the main process gets
    the cores its workers leave; the budget is logged), and with ``cfg.launcher != 'none'``
    initialises the process group (CPU DDP wrapper when there is no GPU, unless the config sets
    a wrapper or a strategy).

    Args:
        cfg (Config): a full config with ``work_dir`` and ``launcher`` set; modified in place.

    Returns:
        Runner: ``Runner.from_cfg(cfg)``, or the registered ``cfg.runner_type`` (e.g.
        ``FlexibleRunner``).
    """
    register_all_modules()
    add_trusted_root(cfg.work_dir)
    cfg.env_cfg = resolve_dist_cfg(dict(cfg.get('env_cfg', {})))
    custom_hooks = list(cfg.get('custom_hooks', None) or [])
    if not any(h.get('type') in ('RNGStateHook', 'mavilkit.RNGStateHook') for h in custom_hooks):
        custom_hooks.append(dict(RNG_STATE_HOOK))
    cfg.custom_hooks = custom_hooks
    # Threads: one per worker, the cores they leave to the main process (mavilkit.utils.threads).
    budget = apply_thread_budget(cfg)
    seed = (cfg.get('randomness') or {}).get('seed', 0) or 0
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if isinstance(loader, dict) and loader.get('num_workers', 0) > 0:
            loader.setdefault('worker_init_fn', dict(type='mavilkit.av_worker_init_fn', seed=seed,
                                                     num_threads=budget['worker_threads']))
    if cfg.launcher != 'none':
        import torch
        init_distributed(cfg.launcher, **cfg.env_cfg['dist_cfg'])
        if not torch.cuda.is_available() and cfg.get('model_wrapper_cfg') is None \
                and cfg.get('strategy') is None:
            cfg.model_wrapper_cfg = cpu_ddp_wrapper_cfg()
    if 'runner_type' not in cfg:
        runner = Runner.from_cfg(cfg)
    else:
        from mavilkit.registry import RUNNERS
        runner = RUNNERS.build(cfg)
    runner.logger.info(describe_thread_budget(budget))
    return runner
