"""Top-k classification accuracy (VGGSound, ESC-50, SPC-1: Tables 7, 8)."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.evaluator import BaseMetric

from mavilkit.registry import METRICS
from .utils import classification_record, drop_duplicate_clips, labels_to_multi_hot


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in %.

    A sample counts as correct at ``k`` when one of its ``gt_label`` classes is among the ``k``
    highest ``pred_score`` entries (for single-label data, the usual top-k accuracy). Ties at the
    k-th score are broken by ``torch.topk``.

    Args:
        topk (int | tuple[int]): The k values. Defaults to ``(1, 5)``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across processes.
        prefix (str, optional): Prefix of the metric names. Defaults to ``'accuracy'``.
    """
    default_prefix: Optional[str] = 'accuracy'

    def __init__(self, topk: Tuple[int, ...] = (1, 5), collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not self.topk or min(self.topk) < 1:
            raise ValueError(f'topk must be positive integers, got {topk}')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store one ``(pred_score, gt_label, identity)`` record per sample."""
        self.results.extend(classification_record(s, 'Accuracy') for s in data_samples)

    def compute_metrics(self, results: List[dict]) -> dict:
        results = drop_duplicate_clips(results, type(self).__name__)
        scores = torch.stack([r['pred_score'] for r in results])
        targets = labels_to_multi_hot([r['gt_label'] for r in results], scores.shape[1]).bool()
        metrics = {}
        for k in self.topk:
            top = scores.topk(min(k, scores.shape[1]), dim=1).indices
            hit = targets.gather(1, top).any(dim=1)
            metrics[f'top{k}'] = hit.float().mean().item() * 100
        return metrics
