"""Helpers shared by the metrics."""
from typing import List, Sequence

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
    seen, unique = set(), []
    for result in results:
        index = int(result['clip_index'])
        if index not in seen:
            seen.add(index)
            unique.append(result)
    if len(unique) < len(results):
        MMLogger.get_current_instance().warning(
            f'{metric_name}: dropped {len(results) - len(unique)} duplicate results of '
            'the same clip_index before computing the metric.')
    return unique


def labels_to_multi_hot(gt_labels: Sequence[torch.Tensor], num_classes: int) -> torch.Tensor:
    """Stack lists of class indices into a ``(N, num_classes)`` 0/1 matrix."""
    target = torch.zeros(len(gt_labels), num_classes)
    for row, label in enumerate(gt_labels):
        label = torch.as_tensor(label, dtype=torch.long).flatten()
        if label.numel() and (label.min() < 0 or label.max() >= num_classes):
            raise ValueError(f'gt_label {label.tolist()} is outside [0, {num_classes}) '
                             f'(the predictions have {num_classes} classes)')
        target[row, label] = 1.
    return target
