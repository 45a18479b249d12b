"""Distributed weighted sampler for balanced fine-tuning (Appendix B)."""
import math
from typing import Iterator, List, Optional, Sequence

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from mavilkit.registry import DATA_SAMPLERS


def dataset_gt_labels(dataset) -> List[List[int]]:
    """Class indices of every sample of ``dataset`` (also through ``ConcatDataset``)."""
    if isinstance(dataset, ConcatDataset):
        return [labels for d in dataset.datasets for labels in dataset_gt_labels(d)]
    if hasattr(dataset, 'get_gt_labels'):
        return dataset.get_gt_labels()
    return [list(dataset.get_data_info(i)['gt_label']) for i in range(len(dataset))]


def label_balanced_weights(gt_labels: Sequence[Sequence[int]], numerator: float = 1000.,
                           eps: float = 0.01) -> torch.Tensor:
    """Per-sample weight ``Σ_{c ∈ labels(i)} numerator / (count_c + eps)``.

    ``count_c`` is the number of training samples carrying class ``c`` (Appendix B; the
    constants are those of AST / Audio-MAE's weight files).
    """
    lengths = torch.tensor([len(labels) for labels in gt_labels])
    flat = torch.tensor([c for labels in gt_labels for c in labels], dtype=torch.long)
    counts = torch.bincount(flat).double()
    label_weight = numerator / (counts + eps)
    owner = torch.repeat_interleave(torch.arange(len(gt_labels)), lengths)
    return torch.zeros(len(gt_labels), dtype=torch.float64).index_add_(0, owner,
                                                                       label_weight[flat])


@DATA_SAMPLERS.register_module()
class DistributedWeightedSampler(Sampler):
    """Draw ``num_samples`` indices per epoch with replacement, proportional to label weights.

    Every rank draws the same global sequence from a generator seeded with ``seed + epoch``
    and keeps every ``world_size``-th position starting at its rank, so the ranks' shares are
    disjoint positions of one draw and the epoch is reproducible. AS-2M and VGGSound
    fine-tuning use 200,000 samples per epoch (Table 10). Call ``set_epoch`` (mmengine's
    ``DistSamplerSeedHook`` does) to get a new draw each epoch.

    Args:
        dataset: a dataset with ``get_gt_labels()`` or ``gt_label`` in its data infos.
        num_samples (int): samples per epoch over all ranks. Defaults to 200,000.
        seed (int, optional): shared random seed; synchronised across ranks when None.
        numerator (float): see :func:`label_balanced_weights`. Defaults to 1000.
        eps (float): see :func:`label_balanced_weights`. Defaults to 0.01.
    """

    def __init__(self, dataset, num_samples: int = 200000, seed: Optional[int] = None,
                 numerator: float = 1000., eps: float = 0.01):
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        self.dataset = dataset
        self.total_size = int(num_samples)
        self.num_samples = math.ceil(self.total_size / world_size)
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.weights = label_balanced_weights(dataset_gt_labels(dataset), numerator, eps)
        if not (self.weights > 0).any():
            raise ValueError('DistributedWeightedSampler: no sample has a label, so no weight '
                             'is positive.')

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        indices = torch.multinomial(self.weights, self.num_samples * self.world_size,
                                    replacement=True, generator=generator)
        return iter(indices[self.rank::self.world_size].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch whose draw ``__iter__`` returns."""
        self.epoch = epoch
