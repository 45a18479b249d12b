"""Build an mmengine Runner from a mavilkit config (the library side of ``tools/train.py`` and
``tools/test.py``)."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.runner import Runner

from mavilkit.utils import (add_trusted_root, cpu_ddp_wrapper_cfg, init_distributed,
                            register_all_modules, resolve_dist_cfg)
from mavilkit.utils.threads import apply_thread_budget, describe_thread_budget

#: Added to every run by :func:`build_runner` (the one place it is declared): checkpoints then
#: hold the random-number states of every process, so a resumed run continues its masking,
#: mixup and worker seeds exactly, whatever ``custom_hooks`` a config sets.
RNG_STATE_HOOK = dict(type='RNGStateHook')


def accumulated_auto_scale_lr(auto_scale_lr: Optional[dict],
                              optim_wrapper: Optional[dict]) -> Optional[dict]:
    """``auto_scale_lr`` with gradient accumulation counted in the batch.

    Appendix B: ``lr_eff = lr_base · batch / 256`` with batch = processes × clips per process ×
    ``accumulative_counts`` (the paper's "512 accumulated batch"). mmengine's scaling
    (``Runner.scale_lr``, ``BaseStrategy._scale_lr``) multiplies the lr by
    ``processes × clips per process / base_batch_size`` and ignores accumulation. Dividing
    ``base_batch_size`` by ``accumulative_counts`` makes its ratio the one above; e.g. 8
    processes × 8 clips × 8 steps with lr_base 2e-4 train at 4e-4 instead of 5e-5.

    Args:
        auto_scale_lr (dict, optional): The config's ``auto_scale_lr`` (``base_batch_size``,
            ``enable``).
        optim_wrapper (dict, optional): The config's ``optim_wrapper``; its
            ``accumulative_counts`` (default 1) is read.

    Returns:
        dict | None: ``auto_scale_lr`` itself when scaling is off or there is no accumulation,
        else a new dict with ``base_batch_size / accumulative_counts``.

    Raises:
        ValueError: ``accumulative_counts`` is not a positive integer.
    """
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return auto_scale_lr
    counts = (optim_wrapper or {}).get('accumulative_counts', 1)
    if isinstance(counts, bool) or not isinstance(counts, int) or counts < 1:
        raise ValueError('optim_wrapper.accumulative_counts must be a positive integer, got '
                         f'{counts!r}')
    if counts == 1:
        return auto_scale_lr
    return dict(auto_scale_lr, base_batch_size=auto_scale_lr['base_batch_size'] / counts)


def _count_accumulation(runner: Runner, cfg: Config) -> None:
    """Give the built runner the accumulation-aware ``auto_scale_lr`` (the dumped config keeps
    the user's numbers: mmengine dumps it while building the runner)."""
    original = cfg.get('auto_scale_lr')
    scaled = accumulated_auto_scale_lr(original, cfg.get('optim_wrapper'))
    if scaled is original or scaled is None:  # None only when original is None
        return
    strategy = getattr(runner, 'strategy', None)
    if strategy is not None and hasattr(strategy, '_auto_scale_lr'):
        strategy._auto_scale_lr = scaled  # FlexibleRunner: its strategy scales the lr
    else:
        runner.auto_scale_lr = scaled
    counts = cfg.optim_wrapper['accumulative_counts']
    runner.logger.info(
        f'auto_scale_lr counts gradient accumulation: batch = processes x clips per process x '
        f'{counts} accumulation steps, so base_batch_size {original["base_batch_size"]} is '
        f'compared with processes x clips per process as {scaled["base_batch_size"]:g}')


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
    the cores its workers leave; the budget is logged), makes ``auto_scale_lr`` count
    ``optim_wrapper.accumulative_counts`` in the total batch (:func:`accumulated_auto_scale_lr`),
    and with ``cfg.launcher != 'none'`` initialises the process group (CPU DDP wrapper when there
    is no GPU, unless the config sets a wrapper or a strategy).

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
    _count_accumulation(runner, cfg)
    return runner
