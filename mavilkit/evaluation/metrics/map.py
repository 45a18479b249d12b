"""AudioSet mean average precision (Table 6, 11)."""
from typing import List, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric

from mavilkit.registry import METRICS
from .utils import classification_record, drop_duplicate_clips, labels_to_multi_hot


def average_precision(scores: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-class average precision, all classes at once.

    ``AP = Σ_n (R_n − R_{n−1}) · P_n`` over the distinct score thresholds in decreasing order,
    the definition of ``sklearn.metrics.average_precision_score`` (the one AST and Audio-MAE use
    for AudioSet): samples with tied scores enter together, so the order of ties does not matter.

    Args:
        scores (Tensor): ``(N, C)`` predicted scores (any monotonic scale: logits or sigmoids).
        targets (Tensor): ``(N, C)`` binary targets.

    Returns:
        Tensor: ``(C,)`` AP per class; ``nan`` for a class without positives.
    """
    scores = scores.double()
    targets = (targets > 0).double()
    sorted_scores, order = scores.sort(dim=0, descending=True)
    tp = targets.gather(0, order).cumsum(dim=0)
    rank = torch.arange(1, scores.shape[0] + 1, dtype=torch.float64).unsqueeze(1)
    precision = tp / rank
    # the last sample of each group of tied scores is where the threshold really lies
    group_end = torch.ones_like(sorted_scores, dtype=torch.bool)
    group_end[:-1] = sorted_scores[:-1] != sorted_scores[1:]
    tp_at_end = torch.where(group_end, tp, torch.zeros_like(tp))
    tp_before = torch.cat([torch.zeros_like(tp[:1]), tp_at_end.cummax(dim=0).values[:-1]])
    new_tp = torch.where(group_end, tp - tp_before, torch.zeros_like(tp))
    num_pos = targets.sum(dim=0)
    ap = (new_tp * precision).sum(dim=0) / num_pos
    return torch.where(num_pos > 0, ap, torch.full_like(ap, float('nan')))


@METRICS.register_module()
class AudioSetMAP(BaseMetric):
    """Mean over classes of the per-class average precision (in %), as reported for AudioSet.

    Each data sample must carry ``pred_score`` ``(C,)`` and ``gt_label`` (class indices); a
    multi-clip prediction is already averaged per video by the classifier, so there is one result
    per video.

    A class with no positive clip in the evaluation set has no defined AP. It is **excluded from
    the mean** (sklearn would return 0 or nan for it and silently lower or break the mean); their
    number is returned as ``num_classes_without_positives`` and logged, so a small or partial eval
    set is visible. AudioSet's eval set has positives for all 527 classes.

    Args:
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across processes.
        prefix (str, optional): Prefix of the metric names. Defaults to ``'audioset'``.
    """
    default_prefix: Optional[str] = 'audioset'

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store one ``(pred_score, gt_label, identity)`` record per sample."""
        self.results.extend(classification_record(s, 'AudioSetMAP') for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> dict:
        results = drop_duplicate_clips(results, type(self).__name__)
        scores = torch.stack([r['pred_score'] for r in results])
        targets = labels_to_multi_hot([r['gt_label'] for r in results], scores.shape[1])
        ap = average_precision(scores, targets)
        valid = ~ap.isnan()
        num_missing = int((~valid).sum())
        if num_missing:
            from mmengine.logging import MMLogger
            MMLogger.get_current_instance().warning(
                f'AudioSetMAP: {num_missing} of {ap.numel()} classes have no positive sample in '
                'the evaluation set and are excluded from the mean.')
        mean_ap = ap[valid].mean().item() * 100 if valid.any() else float('nan')
        return dict(mAP=mean_ap, num_classes_without_positives=num_missing,
                    num_samples=len(results))
