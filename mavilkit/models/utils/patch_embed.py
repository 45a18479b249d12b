"""Patch embedding (2-D spectrogram patches, 3-D video tubelets) and (un)patchify."""
import math
from typing import Any, Sequence, Tuple

import torch
import torch.nn as nn


class PatchEmbed(nn.Module):
    """Non-overlapping patches → tokens, with a convolution named ``proj`` (timm / MAE).

    Args:
        input_size (Sequence[int]): ``(T, F)`` for spectrograms or ``(T, H, W)`` for video.
        patch_size (Sequence[int]): Same length as ``input_size``; kernel = stride.
        in_channels (int): Input channels.
        embed_dims (int): Token dimension.
    """

    def __init__(self, input_size: Sequence[int], patch_size: Sequence[int], in_channels: int,
                 embed_dims: int) -> None:
        super().__init__()
        self.input_size = tuple(input_size)
        self.patch_size = tuple(patch_size)
        if len(self.input_size) != len(self.patch_size) or len(self.patch_size) not in (2, 3):
            raise ValueError(f'input_size {self.input_size} and patch_size {self.patch_size} '
                             'must both have 2 (spectrogram) or 3 (video) entries')
        bad = [(i, p) for i, p in zip(self.input_size, self.patch_size) if i % p]
        if bad:
            raise ValueError(f'input_size {self.input_size} is not divisible by patch_size '
                             f'{self.patch_size}')
        self.in_channels = in_channels
        self.grid_size = tuple(i // p for i, p in zip(self.input_size, self.patch_size))
        conv = nn.Conv2d if len(self.patch_size) == 2 else nn.Conv3d
        kernel: Any = self.patch_size  # 2 entries for Conv2d, 3 for Conv3d (checked above)
        self.proj = conv(in_channels, embed_dims, kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *input_size) -> (B, N, D)``, tokens in row-major grid order."""
        expected = (self.in_channels, ) + self.input_size
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f'{type(self).__name__}: expected input '
                             f'(B, {", ".join(map(str, expected))}),'
                             f' got {tuple(x.shape)}')
        return self.proj(x).flatten(2).transpose(1, 2)


def patchify(x: torch.Tensor, patch_size: Sequence[int]) -> torch.Tensor:
    """``(B, C, *S) -> (B, N, prod(patch_size) * C)``.

    Patches are in row-major grid order (the token order of :class:`PatchEmbed`); the values of
    one patch are ordered (p_1, …, p_k, C), as in MAE.
    """
    B, C = x.shape[:2]
    spatial = x.shape[2:]
    k = len(patch_size)
    grid = [s // p for s, p in zip(spatial, patch_size)]
    shape = [B, C]
    for g, p in zip(grid, patch_size):
        shape += [g, p]
    x = x.reshape(shape)
    # (B, C, g1, p1, …, gk, pk) -> (B, g1, …, gk, p1, …, pk, C)
    perm = [0] + [2 + 2 * i for i in range(k)] + [3 + 2 * i for i in range(k)] + [1]
    x = x.permute(perm)
    return x.reshape(B, -1, math.prod(patch_size) * C)


def unpatchify(patches: torch.Tensor, patch_size: Sequence[int], grid_size: Sequence[int],
               in_channels: int) -> torch.Tensor:
    """Inverse of :func:`patchify`: ``(B, N, prod(patch_size) * C) -> (B, C, *S)``."""
    B = patches.shape[0]
    k = len(patch_size)
    x = patches.reshape([B] + list(grid_size) + list(patch_size) + [in_channels])
    # (B, g1, …, gk, p1, …, pk, C) -> (B, C, g1, p1, …, gk, pk)
    perm = [0, 2 * k + 1]
    for i in range(k):
        perm += [1 + i, 1 + k + i]
    x = x.permute(perm)
    return x.reshape([B, in_channels] + [g * p for g, p in zip(grid_size, patch_size)])


def to_tuple(value, n: int) -> Tuple[int, ...]:
    """``16 -> (16, 16)``; a sequence is checked for length ``n``."""
    if isinstance(value, int):
        return (value, ) * n
    value = tuple(value)
    if len(value) != n:
        raise ValueError(f'expected {n} values, got {value}')
    return value
