"""Token masking: pre-training's random masking (MAViL §3.1) with its disjoint second view
(§3.2), and fine-tuning's structured masking (Audio-MAE's, MAViL Appendix B "Fine-tuning").

During fine-tuning whole rows and columns of the patch grid are dropped: for audio, 20 % of the
time steps and 20 % of the frequency bands of the 64 × 8 grid; for video, 20 % of the temporal
steps and 20 % of the spatial positions of the 4 × 14 × 14 grid. Only the kept tokens are encoded
(a regulariser that also saves compute); nothing is masked at inference.
"""
from typing import TYPE_CHECKING, NamedTuple, Optional, Sequence

import torch

if TYPE_CHECKING:
    from .vit import BaseViT


class MaskInfo(NamedTuple):
    """Result of :func:`random_masking`.

    Attributes:
        ids_keep (Tensor): ``(B, L)`` indices of the visible tokens (in random order).
        mask (Tensor): ``(B, N)`` float, 1 for removed tokens, 0 for visible ones, in the original
            token order.
        ids_restore (Tensor): ``(B, N)``, the inverse of the shuffle: gathering
            ``cat(visible, removed)`` with it restores the original order.
        ids_keep_second (Tensor | None): ``(B, L)`` indices of a second view drawn only from the
            removed tokens (disjoint from ``ids_keep``), or None.
    """
    ids_keep: torch.Tensor
    mask: torch.Tensor
    ids_restore: torch.Tensor
    ids_keep_second: Optional[torch.Tensor] = None


def num_visible_tokens(num_tokens: int, mask_ratio: float) -> int:
    """``round(N · (1 − r))``: 102 of 512 and 157 of 784 at r = 0.8.

    The paper's 103 × 768 and 158 × 768 encoder inputs (Appendix B, with CLS) come from rounding;
    MAE's ``int()`` truncation would give 156 visible video tokens.
    """
    if not 0. <= mask_ratio < 1.:
        raise ValueError(f'mask_ratio must be in [0, 1), got {mask_ratio}')
    return int(round(num_tokens * (1. - mask_ratio)))


def random_masking(batch_size: int,
                   num_tokens: int,
                   mask_ratio: float,
                   device: Optional[torch.device] = None,
                   second_view: bool = False,
                   generator: Optional[torch.Generator] = None) -> MaskInfo:
    """Per-sample random masking by argsort of uniform noise (MAE).

    The first ``L`` tokens of each sample's random permutation are visible; with
    ``second_view=True`` the next ``L`` tokens, which are all removed from the first view, form the
    second view of the intra-modal contrast, so both views are uniform random draws and disjoint.

    Args:
        batch_size (int): ``B``.
        num_tokens (int): ``N`` tokens per sample.
        mask_ratio (float): Fraction of tokens removed, in [0, 1).
        device (torch.device, optional): Device of the returned tensors.
        second_view (bool): Also draw a disjoint second view of ``L`` tokens.
        generator (torch.Generator, optional): For reproducible masks.

    Returns:
        MaskInfo: see its attributes.
    """
    num_keep = num_visible_tokens(num_tokens, mask_ratio)
    if num_keep < 1:
        raise ValueError(f'mask_ratio={mask_ratio} leaves no visible token of {num_tokens}')
    if second_view and 2 * num_keep > num_tokens:
        raise ValueError(
            f'A disjoint second view needs 2 x {num_keep} <= {num_tokens} tokens, i.e. '
            f'mask_ratio >= 0.5 (got {mask_ratio}); set intra_weight=0 to turn it off')
    noise = torch.rand(batch_size, num_tokens, device=device, generator=generator)
    ids_shuffle = noise.argsort(dim=1)
    ids_restore = ids_shuffle.argsort(dim=1)
    mask = torch.ones(batch_size, num_tokens, device=device)
    mask[:, :num_keep] = 0
    mask = mask.gather(1, ids_restore)
    ids_second = ids_shuffle[:, num_keep:2 * num_keep] if second_view else None
    return MaskInfo(ids_shuffle[:, :num_keep], mask, ids_restore, ids_second)


def gather_tokens(x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Pick tokens: ``x (B, N, D)``, ``ids (B, L)`` -> ``(B, L, D)``."""
    return x.gather(1, ids.unsqueeze(-1).expand(-1, -1, x.shape[-1]))


def _keep_sorted(batch_size: int, size: int, ratio: float, device, generator) -> torch.Tensor:
    """``(B, round(size · (1 − ratio)))`` random indices of ``range(size)``, ascending."""
    num_keep = num_visible_tokens(size, ratio)
    noise = torch.rand(batch_size, size, device=device, generator=generator)
    return noise.argsort(dim=1)[:, :num_keep].sort(dim=1).values


def grid_masking(batch_size: int,
                 grid_size: Sequence[int],
                 mask_ratios: Sequence[float],
                 device: Optional[torch.device] = None,
                 generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Drop whole slices of a 2-axis token grid, independently per sample.

    Tokens are laid out row-major over ``grid_size = (rows, cols)`` (token ``r · cols + c``). A
    random ``mask_ratios[0]`` of the rows and ``mask_ratios[1]`` of the columns is removed; the
    kept tokens are the product of the kept rows and columns, ``round(rows · (1 − r0)) ·
    round(cols · (1 − r1))`` of them.

    - audio ``(64, 8)`` (time, frequency) at ``(0.2, 0.2)``: 51 × 6 = 306 of 512 tokens;
    - video ``(4, 196)`` (time, space) at ``(0.2, 0.2)``: 3 × 157 = 471 of 784 tokens.

    Returns:
        Tensor: ``ids_keep`` ``(B, L)``, in token order.
    """
    rows, cols = grid_size
    keep_rows = _keep_sorted(batch_size, rows, mask_ratios[0], device, generator)
    keep_cols = _keep_sorted(batch_size, cols, mask_ratios[1], device, generator)
    return (keep_rows.unsqueeze(2) * cols + keep_cols.unsqueeze(1)).flatten(1)


def finetune_ids_keep(backbone: 'BaseViT',
                      batch_size: int,
                      mask_ratios: Sequence[float],
                      device: Optional[torch.device] = None,
                      generator: Optional[torch.Generator] = None) -> Optional[torch.Tensor]:
    """``ids_keep`` of the fine-tuning masking for ``backbone`` (None when both ratios are 0).

    A 2-D grid (audio: time × frequency) masks rows and columns; a 3-D grid (video: time × height ×
    width) masks time steps and spatial positions.
    """
    if not any(mask_ratios):
        return None
    grid = tuple(backbone.grid_size)
    if len(grid) == 3:
        grid = (grid[0], grid[1] * grid[2])
    elif len(grid) != 2:
        raise ValueError(f'Fine-tuning masking needs a 2-D or 3-D patch grid, got {grid}')
    return grid_masking(batch_size, grid, mask_ratios, device, generator)
