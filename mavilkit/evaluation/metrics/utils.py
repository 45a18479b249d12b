"""Helpers shared by the metrics."""
from typing import List, Sequence

import torch
from mmengine.logging import MMLogger


def clip_identity(sample: dict):
    """The identity a metric counts a sample under: ``clip_uid`` (global, set by
    ``BaseAVDataset``), else ``clip_index``, else None."""
    if sample.get('clip_uid') is not None:
        return str(sample['clip_uid'])
    if sample.get('clip_index') is not None:
        return int(sample['clip_index'])
    return None


def drop_duplicate_clips(results: List[dict], metric_name: str) -> List[dict]:
    """Keep the first result of each clip identity (``clip_uid``, else ``clip_index``).

    A clip can reach a metric more than once: the distributed sampler pads the ranks' shares
    with repeated samples, an unreadable clip is replaced by a copy of another one, and a
    ``RepeatDataset`` or the same annotation file twice in a ``ConcatDataset`` repeat clips.
    ``clip_uid`` is global (the clip's media files), so clips of different datasets of a
    ``ConcatDataset`` are never taken for duplicates, whereas ``clip_index`` restarts at 0 in
    each of them. Results without an identity are kept as they are.
    """
    if not results or 'identity' not in results[0]:
        return results
    seen, kept = set(), []
    for result in results:
        if result['identity'] not in seen:
            seen.add(result['identity'])
            kept.append(result)
    if len(kept) < len(results):
        MMLogger.get_current_instance().warning(
            f'{metric_name}: dropped {len(results) - len(kept)} repeated results of the same '
            'clip before computing the metric (sampler padding, replaced unreadable clips or '
            'repeated datasets).')
    return kept


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
    """The ``(pred_score, gt_label[, identity])`` a classification metric keeps per sample."""
    if 'pred_score' not in sample or 'gt_label' not in sample:
        raise KeyError(f'{metric_name} needs `pred_score` and `gt_label` in each data sample '
                       f'(got keys {sorted(sample)})')
    record = dict(pred_score=sample['pred_score'].detach().float().cpu(),
                  gt_label=torch.as_tensor(sample['gt_label']).cpu())
    identity = clip_identity(sample)
    if identity is not None:
        record['identity'] = identity
    return record
