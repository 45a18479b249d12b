"""Audio↔video retrieval recall (Table 9)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from mavilkit.registry import METRICS
from .utils import clip_identity, drop_duplicate_clips


def retrieval_ranks(similarity: torch.Tensor) -> torch.Tensor:
    """1-based rank of the paired item for each query.

    Row ``i`` of ``similarity`` scores query ``i`` against every gallery item; the paired item is
    ``i``. Ties are counted against the query (the rank is the number of gallery items scoring at
    least as high as the pair), so constant embeddings get the worst rank rather than rank 1.
    """
    positive = similarity.diagonal().unsqueeze(1)
    return (similarity >= positive).sum(dim=1)


@METRICS.register_module()
class RetrievalRecall(BaseMetric):
    """Audio→video and video→audio Recall@K (%) and median rank.

    Each data sample carries ``audio_embedding`` and ``video_embedding`` (set by
    :class:`~mavilkit.models.retrievers.AVRetriever` or a fine-tuned model in ``predict`` mode);
    the i-th audio's positive is the i-th video. Similarity is the cosine similarity (the
    embeddings are L2-normalised here as well).

    Metric names: ``a2v_R@1``, ``a2v_R@5``, ``a2v_R@10``, ``a2v_MedR``, and the same for ``v2a``.

    Args:
        topk (tuple[int]): The K values. Defaults to ``(1, 5, 10)``.
        collect_device (str): ``'cpu'`` or ``'gpu'``, for gathering results across processes.
        prefix (str, optional): Prefix of the metric names. Defaults to ``'retrieval'``.
    """
    default_prefix: Optional[str] = 'retrieval'

    def __init__(self, topk: Tuple[int, ...] = (1, 5, 10), collect_device: str = 'cpu',
                 prefix: Optional[str] = None, collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, collect_dir=collect_dir)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store one ``(audio_embedding, video_embedding, identity)`` record per sample."""
        for sample in data_samples:
            if 'audio_embedding' not in sample or 'video_embedding' not in sample:
                raise KeyError('RetrievalRecall needs `audio_embedding` and `video_embedding` in '
                               f'each data sample (got keys {sorted(sample)})')
            result = dict(audio=sample['audio_embedding'].detach().float().cpu(),
                          video=sample['video_embedding'].detach().float().cpu())
            identity = clip_identity(sample)
            if identity is not None:
                result['identity'] = identity
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        results = drop_duplicate_clips(results, type(self).__name__)
        audio = F.normalize(torch.stack([r['audio'] for r in results]), dim=-1)
        video = F.normalize(torch.stack([r['video'] for r in results]), dim=-1)
        similarity = audio @ video.t()
        metrics = {}
        for name, sim in (('a2v', similarity), ('v2a', similarity.t())):
            ranks = retrieval_ranks(sim).float()
            for k in self.topk:
                metrics[f'{name}_R@{k}'] = (ranks <= k).float().mean().item() * 100
            # np.median convention: the mean of the two middle ranks for an even count
            metrics[f'{name}_MedR'] = ranks.quantile(0.5).item()
        metrics['num_samples'] = len(results)
        return metrics
