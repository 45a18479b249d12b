"""Per-modality MAE decoder f⁻¹ (MAViL §3.1)."""
import math
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mavilkit.registry import MODELS
from ..utils.checkpoint import PretrainedInitMixin
from ..utils.pos_embed import get_sincos_pos_embed
from ..utils.tokens import drop_cls
from ..utils.transformer import build_blocks, init_mae_weights, run_blocks


@MODELS.register_module()
class MAEDecoder(PretrainedInitMixin, BaseModule):
    """Linear projection, [MASK] tokens, original order, fixed sin-cos embedding, blocks, head.

    The encoded visible tokens (CLS first) are projected to ``embed_dims``; one shared learnable
    [MASK] token fills each removed position; ``ids_restore`` puts the sequence back in the
    original (time–frequency or time–space) order; the decoder's own fixed sin-cos positional
    embedding is added; after the blocks and a norm, a linear head predicts ``out_dims`` values
    per patch (raw patch values in stage 1, teacher features in stage 2). CLS is dropped from the
    output. Defaults are the paper's decoder: 8 layers, 512 dims, 16 heads (§4.2).

    ``MAViL`` fills ``grid_size``, ``in_dims`` and ``out_dims`` from the backbone and the target
    generator when a config leaves them out (:func:`~mavilkit.models.utils.build_decoder`).

    Args:
        grid_size (Sequence[int]): Patch grid, ``(64, 8)`` for audio (2-D sin-cos) or
            ``(4, 14, 14)`` for video (spatio-temporal sin-cos).
        in_dims (int): Encoder token dimension. Defaults to 768.
        out_dims (int): Values predicted per patch. Defaults to 256 (a 16 × 16 fbank patch).
        embed_dims (int): Defaults to 512.
        num_layers (int): Transformer blocks. Defaults to 8.
        num_heads (int): Defaults to 16.
        mlp_ratio (float): Defaults to 4.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 grid_size: Sequence[int],
                 in_dims: int = 768,
                 out_dims: int = 256,
                 embed_dims: int = 512,
                 num_layers: int = 8,
                 num_heads: int = 16,
                 mlp_ratio: float = 4.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.grid_size = tuple(grid_size)
        self.num_patches = math.prod(self.grid_size)
        self.embed_dims = embed_dims
        self.num_layers = num_layers
        self.with_cp = with_cp
        self.decoder_embed = nn.Linear(in_dims, embed_dims)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.register_buffer(
            'pos_embed',
            get_sincos_pos_embed(embed_dims, self.grid_size, cls_token=True).unsqueeze(0))
        self.blocks = build_blocks(num_layers, embed_dims, num_heads, mlp_ratio)
        self.norm = nn.LayerNorm(embed_dims, eps=1e-6)
        self.head = nn.Linear(embed_dims, out_dims)
        self.apply(init_mae_weights)
        nn.init.normal_(self.mask_token, std=.02)

    def forward(self, x: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        """Decode.

        Args:
            x (Tensor): ``(B, 1 + L, in_dims)`` encoded visible tokens, CLS first, in the order
                of the masking's ``ids_keep``.
            ids_restore (Tensor): ``(B, N)`` from the masking.

        Returns:
            Tensor: ``(B, N, out_dims)`` predictions for every patch, in the original order.
        """
        B, num_visible = x.shape[0], x.shape[1] - 1
        if ids_restore.shape != (B, self.num_patches) or num_visible > self.num_patches:
            raise ValueError(f'MAEDecoder: ids_restore {tuple(ids_restore.shape)} and '
                             f'{num_visible} visible tokens do not fit a grid of '
                             f'{self.num_patches} patches')
        x = self.decoder_embed(x)
        mask_tokens = self.mask_token.expand(B, self.num_patches - num_visible, -1)
        patches = torch.cat([drop_cls(x), mask_tokens], dim=1)
        patches = patches.gather(1, ids_restore.unsqueeze(-1).expand(-1, -1, x.shape[-1]))
        x = torch.cat([x[:, :1], patches], dim=1) + self.pos_embed
        x = self.norm(run_blocks(self.blocks, x, self.with_cp and self.training))
        return self.head(drop_cls(x))
