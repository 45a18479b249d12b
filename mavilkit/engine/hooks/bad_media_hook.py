"""Epoch-end report of unreadable clips, and the dataset-wide bad-file limit."""
import logging
from collections import defaultdict
from typing import Dict, Iterator, List, Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mavilkit.registry import HOOKS


def leaf_datasets(dataset) -> Iterator:
    """The datasets under mmengine's wrappers (``ConcatDataset``, ``RepeatDataset``,
    ``ClassBalancedDataset``), depth first."""
    if hasattr(dataset, 'datasets'):
        for child in dataset.datasets:
            yield from leaf_datasets(child)
    elif hasattr(dataset, 'dataset'):
        yield from leaf_datasets(dataset.dataset)
    else:
        yield dataset


@HOOKS.register_module()
class BadMediaHook(Hook):
    """Report unreadable clips at the end of each epoch and apply the bad-file limit globally.

    :class:`~mavilkit.datasets.BaseAVDataset` marks each unreadable clip in a shared record
    (one byte per clip, shared by all DataLoader workers of a process) and writes the paths it
    passed over into the metainfo key ``bad_media`` of the sample it returned instead. At the
    end of each epoch this hook

    - merges the records of all processes (one ``all_reduce`` of ``max`` per dataset), so that
      a clip found unreadable by one rank is not decoded again by any rank in later epochs;
    - checks the limit of each dataset on the merged records: distinct unreadable clips
      against distinct clips tried, over all workers and processes
      (:meth:`~mavilkit.datasets.BaseAVDataset.check_failure_fraction`, which raises a
      ``RuntimeError`` naming the files);
    - logs the distinct unreadable files known so far (over the run, all ranks), how many
      samples of the epoch replaced one, and the first file names; the distinct count is
      stored in the message hub as ``{mode}/num_bad_media``.

    Args:
        max_paths (int): file names quoted in the epoch-end message. Defaults to 5.
    """

    priority = 'LOW'

    def __init__(self, max_paths: int = 5):
        self.max_paths = max_paths
        self._replaced: Dict[str, int] = defaultdict(int)
        self._seen: Dict[str, int] = defaultdict(int)

    def _collect(self, data_batch: Optional[dict], mode: str) -> None:
        samples = (data_batch or {}).get('data_samples') or []
        self._seen[mode] += len(samples)
        for sample in samples:
            paths = sample.metainfo.get('bad_media', ()) if hasattr(sample, 'metainfo') else ()
            self._replaced[mode] += len(paths)

    def _report(self, runner, mode: str, loader) -> None:
        total = torch.tensor([float(self._replaced.pop(mode, 0)),
                              float(self._seen.pop(mode, 0))])
        all_reduce(total)
        replaced, seen = int(total[0]), int(total[1])
        datasets = [d for d in leaf_datasets(getattr(loader, 'dataset', None))
                    if hasattr(d, 'check_failure_fraction') and hasattr(d, 'unreadable')]
        names: List[str] = []
        num_bad = 0
        for dataset in datasets:
            if get_world_size() > 1:
                for record in (dataset.tried, dataset.unreadable):
                    merged = record.clone()
                    all_reduce(merged, op='max')
                    record.copy_(merged)  # in place: the workers share this memory
            bad, _ = dataset.check_failure_fraction(where='over all processes ')
            num_bad += bad
            names += dataset.unreadable_files()
        runner.message_hub.update_info(f'{mode}/num_bad_media', num_bad)
        if num_bad or replaced:
            print_log(f'{mode}: {num_bad} distinct unreadable media files known so far; '
                      f'{replaced} of the {seen} samples of this epoch replaced one (e.g. '
                      f'{", ".join(names[:self.max_paths])}).', logger='current',
                      level=logging.WARNING)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, 'train')

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, 'val')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._collect(data_batch, 'test')

    def after_train_epoch(self, runner) -> None:
        self._report(runner, 'train', runner.train_dataloader)

    def after_val_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'val', runner.val_dataloader)

    def after_test_epoch(self, runner, metrics=None) -> None:
        self._report(runner, 'test', runner.test_dataloader)
