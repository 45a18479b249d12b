"""Multimodal Bottleneck Transformer fusion (MBT, Nagrani et al. 2021; MAViL §3.1)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mavilkit.registry import MODELS
from ..utils.checkpoint import PretrainedInitMixin
from ..utils.transformer import build_blocks, init_mae_weights, run_block


@MODELS.register_module()
class MBTFusion(PretrainedInitMixin, BaseModule):
    """Fusion where audio and video exchange information only through bottleneck tokens.

    With learnable bottleneck tokens ``b⁰ = [b_1 … b_K]``, each layer ``l`` computes (§3.1)::

        a^{l+1} ‖ b_a^{l+1} = g^l(a^l ‖ b^l)
        v^{l+1} ‖ b_v^{l+1} = g^l(v^l ‖ b^l)
        b^{l+1} = (b_a^{l+1} + b_v^{l+1}) / 2

    The same block ``g^l`` encodes both modalities, as the paper writes it. The outputs (without
    bottleneck tokens) are normalised per modality.

    Args:
        num_layers (int): Fusion layers. Defaults to 2.
        num_bottlenecks (int): Bottleneck tokens. Defaults to 4 (Appendix B).
        embed_dims (int): Defaults to 768.
        num_heads (int): Defaults to 12.
        mlp_ratio (float): Defaults to 4.
        drop_path_rate (float): Defaults to 0.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 num_layers: int = 2,
                 num_bottlenecks: int = 4,
                 embed_dims: int = 768,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_bottlenecks < 1:
            raise ValueError('MBTFusion needs at least one bottleneck token, got '
                             f'{num_bottlenecks}')
        self.num_layers = num_layers
        self.num_bottlenecks = num_bottlenecks
        self.embed_dims = embed_dims
        self.with_cp = with_cp
        self.bottleneck = nn.Parameter(torch.zeros(1, num_bottlenecks, embed_dims))
        self.blocks = build_blocks(num_layers, embed_dims, num_heads, mlp_ratio, drop_path_rate)
        self.norm_audio = nn.LayerNorm(embed_dims, eps=1e-6)
        self.norm_video = nn.LayerNorm(embed_dims, eps=1e-6)
        self.apply(init_mae_weights)
        nn.init.normal_(self.bottleneck, std=.02)

    def forward(self, audio: torch.Tensor,
                video: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, 1 + La, D)``, ``(B, 1 + Lv, D)`` -> the same shapes."""
        num_audio, num_video = audio.shape[1], video.shape[1]
        b = self.bottleneck.expand(audio.shape[0], -1, -1)
        with_cp = self.with_cp and self.training
        for block in self.blocks:
            ab = run_block(block, torch.cat([audio, b], dim=1), with_cp)
            vb = run_block(block, torch.cat([video, b], dim=1), with_cp)
            audio, video = ab[:, :num_audio], vb[:, :num_video]
            b = (ab[:, num_audio:] + vb[:, num_video:]) / 2
        return self.norm_audio(audio), self.norm_video(video)
