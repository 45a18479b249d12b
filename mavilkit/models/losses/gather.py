"""Gather a tensor from every process *with* gradient, for contrastive negatives.

``mmengine.dist.all_gather`` (and ``torch.distributed.all_gather``) return tensors that are cut
from the autograd graph, so negatives gathered with them get no gradient and the loss on a
distributed run differs from the loss on one process with the same global batch. PyTorch's
``torch.distributed.nn.functional.all_gather`` is differentiable: its backward sums, for each
process's slice, the gradients that every process computed for that slice (a reduce-scatter).
"""
from typing import Tuple

import torch
import torch.distributed as torch_dist
from torch.distributed.nn.functional import all_gather as _all_gather_with_grad


def dist_rank_and_world_size() -> Tuple[int, int]:
    """``(rank, world_size)`` of the default group, ``(0, 1)`` when not distributed."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        return torch_dist.get_rank(), torch_dist.get_world_size()
    return 0, 1


def all_gather_with_grad(x: torch.Tensor) -> torch.Tensor:
    """Concatenate ``x`` from every process along dim 0, keeping the autograd graph.

    Every process must pass a tensor of the same shape (mmengine's ``DefaultSampler`` pads the
    dataset so that all processes see the same number of samples in every iteration).

    Args:
        x (Tensor): ``(B, ...)`` on this process.

    Returns:
        Tensor: ``(world_size * B, ...)``, process ``r``'s rows at ``[r * B, (r + 1) * B)``.
        On a single process ``x`` itself.
    """
    _, world_size = dist_rank_and_world_size()
    if world_size == 1:
        return x
    return torch.cat(_all_gather_with_grad(x), dim=0)
