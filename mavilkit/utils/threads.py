"""A deliberate CPU thread budget for the main process and the dataloader workers.

Left alone, the main process and every dataloader worker each start as many intra-op threads
(torch / OpenMP, OpenCV) as the machine has cores, so ``W`` busy workers plus the main process
run ``(W + 1) × cores`` threads on ``cores`` cores. OpenMP threads spin while they wait for each
other, and oversubscribed they mostly wait: the demo pre-training ran 5.8× slower with the
defaults than with one thread per process on a shared 2-core machine (issue 13;
``docs/en/advanced_guides/performance.md``). The budget used here:

- each dataloader worker: ``worker_threads`` (default 1) torch, OpenCV and FFmpeg threads, set by
  :func:`mavilkit.engine.av_worker_init_fn`;
- the main process: the cores its workers leave, ``max(1, cores_per_rank - num_workers)``, where
  ``cores_per_rank`` is the CPU affinity of the process divided by ``LOCAL_WORLD_SIZE``; an
  ``OMP_NUM_THREADS`` set in the environment (by the user or by ``torchrun``) wins over that
  figure, and the config's ``thread_budget = dict(main_threads=N)`` wins over both.
"""
import os
from typing import Optional

import torch

#: FFmpeg decoder threads a media reader should ask for in this process (set per worker).
_MEDIA_THREADS = 1


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask; ``os.cpu_count()`` elsewhere)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def media_threads() -> int:
    """FFmpeg / decord decoder threads for a media reader in this process (1 in workers)."""
    return _MEDIA_THREADS


def set_process_threads(num_threads: int) -> None:
    """Give this process ``num_threads`` torch intra-op, OpenCV and FFmpeg decoder threads."""
    global _MEDIA_THREADS
    if num_threads < 1:
        raise ValueError(f'num_threads must be >= 1, got {num_threads}')
    torch.set_num_threads(num_threads)
    try:
        import cv2
        cv2.setNumThreads(num_threads)
    except ImportError:  # OpenCV is optional outside the video transforms
        pass
    _MEDIA_THREADS = num_threads


def plan_thread_budget(num_workers: int, main_threads: Optional[int] = None,
                       worker_threads: int = 1, cores: Optional[int] = None,
                       local_world_size: Optional[int] = None,
                       env_threads: Optional[str] = None) -> dict:
    """The thread budget of one rank: a dict with ``main_threads``, ``worker_threads``,
    ``num_workers``, ``cores`` (of this rank) and ``source`` of the main figure (``'config'``,
    ``'OMP_NUM_THREADS'`` or ``'cores left by the workers'``).

    ``cores`` defaults to :func:`available_cores`, ``local_world_size`` to the
    ``LOCAL_WORLD_SIZE`` environment variable (1 when unset), ``env_threads`` to
    ``OMP_NUM_THREADS``. Raises ``ValueError`` for a thread count below 1.
    """
    if worker_threads < 1:
        raise ValueError(f'worker_threads must be >= 1, got {worker_threads}')
    cores = available_cores() if cores is None else cores
    if local_world_size is None:
        local_world_size = int(os.environ.get('LOCAL_WORLD_SIZE', 1) or 1)
    if env_threads is None:
        env_threads = os.environ.get('OMP_NUM_THREADS')
    cores_per_rank = max(1, cores // max(1, local_world_size))
    if main_threads is not None:
        source = 'config'
    elif env_threads and env_threads.strip().isdigit() and int(env_threads) >= 1:
        main_threads, source = int(env_threads), 'OMP_NUM_THREADS'
    else:
        main_threads = max(1, cores_per_rank - num_workers * worker_threads)
        source = 'cores left by the workers'
    if main_threads < 1:
        raise ValueError(f'thread_budget.main_threads must be >= 1, got {main_threads}')
    return dict(main_threads=int(main_threads), worker_threads=int(worker_threads),
                num_workers=int(num_workers), cores=cores_per_rank, source=source)


def apply_thread_budget(cfg) -> dict:
    """Plan the budget from a config and set the main process's threads; returns the plan.

    The number of workers is the largest ``num_workers`` of the config's dataloaders (they do
    not run at the same time, but the busiest one decides). ``cfg.thread_budget`` may give
    ``main_threads`` and ``worker_threads``; the worker figure reaches the workers through
    ``av_worker_init_fn(num_threads=...)`` (``tools/train.py`` wires both).
    """
    options = dict(cfg.get('thread_budget', None) or {})
    unknown = set(options) - {'main_threads', 'worker_threads'}
    if unknown:
        raise KeyError(f'thread_budget accepts main_threads and worker_threads, got {unknown}')
    num_workers = max([cfg[name].get('num_workers', 0) for name in
                       ('train_dataloader', 'val_dataloader', 'test_dataloader')
                       if isinstance(cfg.get(name), dict)] or [0])
    plan = plan_thread_budget(num_workers, options.get('main_threads'),
                              options.get('worker_threads', 1))
    set_process_threads(plan['main_threads'])
    return plan


def describe_thread_budget(plan: dict) -> str:
    """One log line for a plan of :func:`plan_thread_budget`."""
    return (f'Thread budget: main process {plan["main_threads"]} thread(s) '
            f'({plan["source"]}), {plan["num_workers"]} dataloader worker(s) × '
            f'{plan["worker_threads"]} thread(s) (torch, OpenCV, FFmpeg), '
            f'{plan["cores"]} core(s) for this rank')
