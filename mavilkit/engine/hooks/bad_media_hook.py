"""Epoch-end report of clips the datasets replaced because their media were unreadable."""
import logging
from collections import defaultdict
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mavilkit.registry import HOOKS


@HOOKS.register_module()
class BadMediaHook(Hook):
    """Count unreadable clips replaced during an epoch and log the total at its end.

    :class:`~mavilkit.datasets.BaseAVDataset` writes the paths it replaced into the metainfo
    key ``bad_media`` of the sample it returned instead; this hook sums them over the batches of
    the epoch (whatever DataLoader worker saw them) and over ranks, logs the count, the number
    of samples of the epoch and the first paths, and stores the count in the message hub as
    ``{mode}/num_bad_media``. The sums are host-side integers: no device work per iteration,
    one ``all_reduce`` per epoch.

    Args:
        max_paths (int): paths quoted in the epoch-end message. Defaults to 5.
    """

    priority = 'LOW'

    def __init__(self, max_paths: int = 5):
        self.max_paths = max_paths
        self._count: Dict[str, int] = defaultdict(int)
        self._seen: Dict[str, int] = defaultdict(int)
        self._paths: Dict[str, List[str]] = defaultdict(list)

    def _collect(self, data_batch: Optional[dict], mode: str) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        self._seen[mode] += len(samples)
        for sample in samples:
            paths = sample.metainfo.get('bad_media', ()) if hasattr(sample, 'metainfo') else ()
            self._count[mode] += len(paths)
            room = max(self.max_paths - len(self._paths[mode]), 0)
            self._paths[mode] += list(paths)[:room]

    def _report(self, runner, mode: str) -> None:
        total = torch.tensor([float(self._count.pop(mode, 0)), float(self._seen.pop(mode, 0))])
        paths = self._paths.pop(mode, [])
        all_reduce(total)
        count, seen = int(total[0]), int(total[1])
        runner.message_hub.update_info(f'{mode}/num_bad_media', count)
        if count:
            print_log(f'{mode}: {count} of the {seen} samples of this epoch replaced an '
                      f'unreadable clip (e.g. {", ".join(paths)}).', logger='current',
                      level=logging.WARNING)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, 'train')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, 'test')

    def after_train_epoch(self, runner) -> None:
        self._report(runner, 'train')

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'val')

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'test')
