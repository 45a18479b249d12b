"""Dataloader worker seeding."""
import os
import random

import numpy as np
import torch

from mavilkit.registry import FUNCTIONS


@FUNCTIONS.register_module()
def av_worker_init_fn(worker_id: int, seed: int = 0) -> None:
    """Seed NumPy and ``random`` in a dataloader worker from torch's per-worker seed.

    mmengine's default seeds every worker with ``seed + rank * num_workers + worker_id``, the same in
    every epoch, so the random augmentation stream restarts each epoch. torch already gives each
    worker ``base_seed + worker_id``, where ``base_seed`` is drawn from the main process's RNG
    for every new iterator (i.e. every epoch) and is restored on resume by ``RNGStateHook``. The
    rank is mixed in so that ranks differ even without ``randomness.diff_rank_seed``.

    ``tools/train.py`` sets it on every dataloader with workers that has none (the root
    FUNCTIONS registry of the Runner needs the scoped name ``'mavilkit.av_worker_init_fn'``).
    """
    rank = int(os.environ.get('RANK', 0))
    worker_seed = (torch.initial_seed() + seed + 1_000_003 * rank) % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)
    torch.manual_seed(worker_seed)
