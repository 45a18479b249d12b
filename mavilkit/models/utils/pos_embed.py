"""Fixed sin-cos positional embeddings (MAE, MAViL §3.1: "fixed 2-D sinusoidal").

Each axis of the patch grid gets a 1-D sin-cos code (Transformer-style, base 10000) on its own
slice of the channels; the slices are concatenated. Rows follow the token order of a flattened
grid: row-major, i.e. time-major for spectrograms (t, f) and videos (t, h, w).
"""
from typing import Sequence

import torch


def get_1d_sincos_pos_embed(embed_dims: int, positions: torch.Tensor) -> torch.Tensor:
    """Sin-cos code of ``positions``: ``(M,) -> (M, embed_dims)``, sines first then cosines."""
    if embed_dims % 2:
        raise ValueError(f'1-D sin-cos embedding needs an even dimension, got {embed_dims}')
    omega = torch.arange(embed_dims // 2, dtype=torch.float64) / (embed_dims / 2.)
    omega = 1. / 10000**omega
    out = positions.to(torch.float64).reshape(-1, 1) * omega.reshape(1, -1)
    return torch.cat([out.sin(), out.cos()], dim=1).float()


def _with_cls(embed: torch.Tensor, cls_token: bool) -> torch.Tensor:
    if cls_token:
        embed = torch.cat([embed.new_zeros(1, embed.shape[1]), embed], dim=0)
    return embed


def get_2d_sincos_pos_embed(embed_dims: int,
                            grid_size: Sequence[int],
                            cls_token: bool = False) -> torch.Tensor:
    """2-D sin-cos embedding of an ``(H, W)`` grid: first half codes the row, second the column.

    Returns:
        Tensor: ``(H * W, embed_dims)``, with a leading all-zero row for CLS if ``cls_token``.
    """
    if embed_dims % 4:
        raise ValueError('2-D sin-cos embedding needs a dimension divisible by 4, got '
                         f'{embed_dims}')
    h, w = grid_size
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing='ij')
    embed = torch.cat([
        get_1d_sincos_pos_embed(embed_dims // 2, rows.flatten()),
        get_1d_sincos_pos_embed(embed_dims // 2, cols.flatten())
    ], dim=1)
    return _with_cls(embed, cls_token)


def get_3d_sincos_pos_embed(embed_dims: int,
                            grid_size: Sequence[int],
                            cls_token: bool = False) -> torch.Tensor:
    """Spatio-temporal sin-cos embedding of a ``(T, H, W)`` grid.

    Time takes a quarter of the channels and each spatial axis three eighths, so that the spatial
    part keeps most of the resolution (14 × 14 positions against 4 time steps for MAViL's video).

    Returns:
        Tensor: ``(T * H * W, embed_dims)``, with a leading all-zero row for CLS if ``cls_token``.
    """
    if embed_dims % 16:
        raise ValueError('Spatio-temporal sin-cos embedding needs a dimension divisible by 16, '
                         f'got {embed_dims}')
    t, h, w = grid_size
    dim_t, dim_s = embed_dims // 4, embed_dims * 3 // 8
    ts, rows, cols = torch.meshgrid(
        torch.arange(t), torch.arange(h), torch.arange(w), indexing='ij')
    embed = torch.cat([
        get_1d_sincos_pos_embed(dim_t, ts.flatten()),
        get_1d_sincos_pos_embed(dim_s, rows.flatten()),
        get_1d_sincos_pos_embed(dim_s, cols.flatten())
    ], dim=1)
    return _with_cls(embed, cls_token)


def get_sincos_pos_embed(embed_dims: int,
                         grid_size: Sequence[int],
                         cls_token: bool = False) -> torch.Tensor:
    """2-D or spatio-temporal embedding, chosen by the length of ``grid_size``."""
    if len(grid_size) == 2:
        return get_2d_sincos_pos_embed(embed_dims, grid_size, cls_token)
    if len(grid_size) == 3:
        return get_3d_sincos_pos_embed(embed_dims, grid_size, cls_token)
    raise ValueError(f'grid_size must have 2 or 3 entries, got {tuple(grid_size)}')
