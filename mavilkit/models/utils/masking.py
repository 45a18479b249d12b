"""Random token masking for MAViL (§3.1) and the disjoint second view (§3.2)."""
from typing import NamedTuple, Optional

import torch


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
