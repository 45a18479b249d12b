"""Fine-tuning masking (Audio-MAE's structured masking, MAViL Appendix B "Fine-tuning").

During fine-tuning whole rows and columns of the patch grid are dropped: for audio, 20 % of the
time steps and 20 % of the frequency bands of the 64 × 8 grid; for video, 20 % of the temporal
steps and 20 % of the spatial positions of the 4 × 14 × 14 grid. Only the kept tokens are encoded
(a regulariser that also saves compute); nothing is masked at inference.
"""
from typing import Optional, Sequence

import torch

from ..utils.masking import num_visible_tokens


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


def finetune_ids_keep(backbone: torch.nn.Module,
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
