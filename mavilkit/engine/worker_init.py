"""Dataloader worker seeding and thread budget.

Rule (what makes a resumed run continue exactly, with persistent workers or not): the random
draws of a training DataLoader worker are a function of ``(seed, epoch, rank, worker id)`` only.
torch assigns the batches of an epoch to the workers in a fixed round-robin order, so every
sample then gets the same draws whether the workers were started at epoch 0 and kept
(``persistent_workers=True``), restarted every epoch, or started by a resumed run.

Threads: each worker gets ``num_threads`` (default 1) torch, OpenCV and FFmpeg threads
(``mavilkit.utils.threads``).
"""
import os
import random
from typing import Optional

import numpy as np
import torch
from torch.utils.data import get_worker_info

from mavilkit.registry import FUNCTIONS
from mavilkit.utils.threads import set_process_threads

#: Attribute of a DataLoader's dataset holding the current epoch (a shared-memory tensor).
EPOCH_ATTR = '_mavilkit_epoch'
#: Set in a worker process by ``av_worker_init_fn``.
_WORKER: dict = {}


@FUNCTIONS.register_module()
def av_worker_init_fn(worker_id: int, seed: int = 0, num_threads: int = 1) -> None:
    """Seed NumPy, ``random`` and torch in a dataloader worker, and set its threads.

    At start the worker is seeded from torch's per-iterator seed (``base_seed + worker_id``),
    the rank and ``seed``, so loaders without an epoch (see below) still get new draws at every
    new iterator. mmengine's default would seed every worker identically at every epoch.

    A training loader whose dataset carries the epoch (:func:`set_loader_epoch`, called by
    :class:`~mavilkit.engine.hooks.RNGStateHook` before every epoch) is re-seeded from
    ``(seed, epoch, rank, worker_id)`` at the first sample of each epoch, by
    :func:`sync_worker_rng_to_epoch` (called by ``BaseAVDataset.__getitem__``).

    ``mavilkit.apis.build_runner`` sets it on every dataloader with workers that has none (the
    root FUNCTIONS registry of the Runner needs the scoped name ``'mavilkit.av_worker_init_fn'``).

    The worker also gets ``num_threads`` torch, OpenCV and FFmpeg decoder threads (the thread
    budget of ``mavilkit.utils.threads``): a forked worker inherits the main process's OpenCV
    thread pool size, and each extra thread per worker oversubscribes the cores.
    """
    set_process_threads(num_threads)
    rank = int(os.environ.get('RANK', 0))
    worker_seed = (torch.initial_seed() + seed + 1_000_003 * rank) % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
    _WORKER.clear()
    _WORKER.update(seed=seed, rank=rank, worker_id=worker_id, epoch=None)


def set_loader_epoch(dataloader, epoch: int) -> None:
    """Tell the workers of ``dataloader`` that ``epoch`` begins.

    The epoch is kept in a shared-memory tensor on the dataset, created on the first call
    (before the workers start, so that forked and spawned workers share it) and updated in
    place afterwards: persistent workers see the new value at their next sample.
    """
    dataset = dataloader.dataset
    shared: Optional[torch.Tensor] = getattr(dataset, EPOCH_ATTR, None)
    if shared is None:
        shared = torch.full((), -1, dtype=torch.int64).share_memory_()
        setattr(dataset, EPOCH_ATTR, shared)
    shared.fill_(int(epoch))


def sync_worker_rng_to_epoch() -> None:
    """In a DataLoader worker, re-seed the generators when a new epoch has begun.

    Does nothing in the main process, in workers not started by :func:`av_worker_init_fn`,
    and for loaders without an epoch (validation and test loaders).
    """
    if not _WORKER:
        return
    info = get_worker_info()
    shared = getattr(info.dataset, EPOCH_ATTR, None) if info is not None else None
    if shared is None:
        return
    epoch = int(shared)
    if epoch < 0 or epoch == _WORKER['epoch']:
        return
    _WORKER['epoch'] = epoch
    entropy = [_WORKER['seed'] % 2**32, epoch, _WORKER['rank'], _WORKER['worker_id']]
    state = np.random.SeedSequence(entropy).generate_state(3, dtype=np.uint32)
    np.random.seed(int(state[0]))
    random.seed(int(state[1]))
    torch.manual_seed(int(state[2]))
