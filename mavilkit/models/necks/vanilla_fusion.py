"""Vanilla Transformer fusion encoder g_av (MAViL §3.1)."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mavilkit.registry import MODELS
from ..utils.checkpoint import PretrainedInitMixin
from ..utils.transformer import build_blocks, init_mae_weights, run_blocks


@MODELS.register_module()
class VanillaFusion(PretrainedInitMixin, BaseModule):
    """``(a^{l+1} ‖ v^{l+1}) = Transformer(a^l ‖ v^l)`` for ``num_layers`` blocks.

    Audio and video tokens (each with its CLS) attend to each other in one sequence; the output is
    split back and (by default) normalised per modality. Both CLS tokens go through the fusion
    blocks, as in the released MAViL (``blocks_av`` over ``[cls_a, a, cls_v, v]``). MAViL's
    default fusion is this neck with 2 layers (§4.2); Table 2 also uses 4.

    Args:
        num_layers (int): Transformer blocks. Defaults to 2.
        embed_dims (int): Token dimension (both modalities). Defaults to 768.
        num_heads (int): Defaults to 12.
        mlp_ratio (float): Defaults to 4.
        drop_path_rate (float): Defaults to 0.
        with_cp (bool): Activation checkpointing. Defaults to False.
        init_cfg (dict, optional): Initialisation config.
        final_norm (bool): Normalise the outputs per modality (``norm_audio``, ``norm_video``).
            False returns the last block's outputs as they are: the released MAViL's fusion
            blocks (``blocks_av``) have no norm after them, and a global-pool classifier
            normalises the pooled vector instead. Defaults to True.
        norm_eps (float): Epsilon of every LayerNorm (blocks and ``norm_*``). Defaults to 1e-6
            (MAE, the MAViL release); CAV-MAE's shared layer and joint norm use 1e-5.
    """

    def __init__(self,
                 num_layers: int = 2,
                 embed_dims: int = 768,
                 num_heads: int = 12,
                 mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None,
                 final_norm: bool = True,
                 norm_eps: float = 1e-6) -> None:
        super().__init__(init_cfg=init_cfg)
        self.num_layers = num_layers
        self.embed_dims = embed_dims
        self.with_cp = with_cp
        self.blocks = build_blocks(num_layers, embed_dims, num_heads, mlp_ratio, drop_path_rate,
                                   norm_eps)
        self.final_norm = final_norm
        norm = (lambda: nn.LayerNorm(embed_dims, eps=norm_eps)) if final_norm else nn.Identity
        self.norm_audio, self.norm_video = norm(), norm()
        self.apply(init_mae_weights)

    def forward(self, audio: torch.Tensor,
                video: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(B, 1 + La, D)``, ``(B, 1 + Lv, D)`` -> the same shapes, jointly encoded."""
        num_audio = audio.shape[1]
        x = run_blocks(self.blocks, torch.cat([audio, video], dim=1),
                       self.with_cp and self.training)
        return self.norm_audio(x[:, :num_audio]), self.norm_video(x[:, num_audio:])
