"""Helpers shared by the metrics."""
from typing import List, Sequence

import numpy as np
import torch
from mmengine.logging import MMLogger


def drop_duplicate_clips(results: List[dict], metric_name: str) -> List[dict]:
    """Keep the first result of each ``clip_index``.

    mmengine's ``collect_results`` already drops the samples that a distributed sampler repeats to
    give every process the same number of batches (it interleaves the per-rank parts and truncates
    to the dataset size). This guard makes a metric robust to samplers that do not follow that
    layout: a clip is never counted twice. Results without ``clip_index`` are kept as they are.
    """
    if not results or 'clip_index' not in results[0]:
        return results
    indices = np.array([int(r['clip_index']) for r in results])
    _, first = np.unique(indices, return_index=True)
    if len(first) == len(results):
        return results
    MMLogger.get_current_instance().warning(
        f'{metric_name}: dropped {len(results) - len(first)} duplicate results of '
        'the same clip_index before computing the metric.')
    return [results[i] for i in np.sort(first)]


def labels_to_multi_hot(gt_labels: Sequence[torch.Tensor], num_classes: int) -> torch.Tensor:
    """Stack lists of class indices into a ``(N, num_classes)`` 0/1 matrix."""
    labels = [torch.as_tensor(label, dtype=torch.long).flatten() for label in gt_labels]
    target = torch.zeros(len(labels), num_classes)
    if not labels:
        return target
    flat = torch.cat(labels)
    if flat.numel() and (flat.min() < 0 or flat.max() >= num_classes):
        bad = sorted({int(c) for c in flat if not 0 <= c < num_classes})
        raise ValueError(f'gt_label classes {bad} are outside [0, {num_classes}) '
                         f'(the predictions have {num_classes} classes)')
    rows = torch.repeat_interleave(torch.arange(len(labels)),
                                   torch.tensor([label.numel() for label in labels]))
    target[rows, flat] = 1.
    return target


def classification_record(sample: dict, metric_name: str) -> dict:
    """The ``(pred_score, gt_label[, clip_index])`` a classification metric keeps per sample."""
    if 'pred_score' not in sample or 'gt_label' not in sample:
        raise KeyError(f'{metric_name} needs `pred_score` and `gt_label` in each data sample '
                       f'(got keys {sorted(sample)})')
    record = dict(pred_score=sample['pred_score'].detach().float().cpu(),
                  gt_label=torch.as_tensor(sample['gt_label']).cpu())
    if 'clip_index' in sample:
        record['clip_index'] = sample['clip_index']
    return record
