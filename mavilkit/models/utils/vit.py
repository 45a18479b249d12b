"""Shared ViT encoder of the audio and video backbones (MAE style, visible tokens only)."""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from .checkpoint import PretrainedInitMixin
from .masking import gather_tokens
from .patch_embed import PatchEmbed, patchify, unpatchify
from .pos_embed import get_sincos_pos_embed
from .transformer import build_blocks, init_mae_weights, run_blocks

ARCH_ZOO = {
    # test / demo size; not a paper model
    'tiny': dict(embed_dims=64, num_layers=2, num_heads=4, mlp_ratio=4.),
    's': dict(embed_dims=384, num_layers=12, num_heads=6, mlp_ratio=4.),
    'b': dict(embed_dims=768, num_layers=12, num_heads=12, mlp_ratio=4.),
    'l': dict(embed_dims=1024, num_layers=24, num_heads=16, mlp_ratio=4.),
}


def parse_arch(arch: Union[str, dict]) -> dict:
    """A preset name of :data:`ARCH_ZOO` or a dict with ``embed_dims, num_layers, num_heads``
    (optional ``mlp_ratio``, default 4, and ``norm_eps``, the LayerNorms' epsilon, default 1e-6
    as in MAE; CAV-MAE's layers use 1e-5)."""
    if isinstance(arch, str):
        key = arch.lower()
        aliases = {'small': 's', 'base': 'b', 'large': 'l',
                   'vit-s': 's', 'vit-b': 'b', 'vit-l': 'l'}
        key = aliases.get(key, key)
        if key not in ARCH_ZOO:
            raise KeyError(f'Unknown ViT arch {arch!r}; choose from {sorted(ARCH_ZOO)} or give a '
                           'dict(embed_dims, num_layers, num_heads, mlp_ratio)')
        return dict(ARCH_ZOO[key], norm_eps=1e-6)
    arch = dict(arch)
    missing = {'embed_dims', 'num_layers', 'num_heads'} - set(arch)
    if missing:
        raise KeyError(f'ViT arch dict lacks {sorted(missing)}: {arch}')
    unknown = set(arch) - {'embed_dims', 'num_layers', 'num_heads', 'mlp_ratio', 'norm_eps'}
    if unknown:
        raise KeyError(f'ViT arch dict has unknown keys {sorted(unknown)}: {arch}')
    arch.setdefault('mlp_ratio', 4.)
    arch.setdefault('norm_eps', 1e-6)
    return arch


class BaseViT(PretrainedInitMixin, BaseModule):
    """ViT encoder over non-overlapping patches with a fixed sin-cos positional embedding.

    Parameter and buffer names are those of timm / facebookresearch/mae (``patch_embed.proj``,
    ``cls_token``, ``pos_embed``, ``blocks.{i}.*``, ``norm``), so MAE-family checkpoints load by
    name. ``pos_embed`` is a fixed but *persistent* buffer: it is saved in and loaded from
    checkpoints rather than regenerated, because released weights do not always use a plain grid
    embedding (``docs/en/design.md``, pitfall 6: Audio-MAE's was built for an (8, 64) grid
    while its tokens lie 64 × 8).

    ``init_cfg=dict(type='Pretrained', checkpoint=PATH[, prefix='audio_backbone.'])`` loads by
    name through :func:`~mavilkit.models.utils.checkpoint.load_pretrained` (the same path under
    any parent model): ``prefix`` selects one part of a bigger checkpoint (e.g. a MAViL's audio
    encoder) and strips it; subclasses adapt foreign keys in :meth:`convert_checkpoint`; every
    block weight must be there, and a shape mismatch raises naming the key and the file. A
    checkpoint made on another patch grid needs ``adapt_pos_embed='crop'`` or
    ``'interpolate'`` (see :func:`~mavilkit.models.utils.checkpoint.adapt_pos_embed`); its grid
    is taken to be :attr:`pretrain_grid_size` when the sizes agree. Other ``init_cfg`` types go
    to mmengine.

    Args:
        arch (str | dict): Preset (``'tiny'``, ``'s'``, ``'b'``, ``'l'``) or a dict.
        input_size (Sequence[int]): Input size without channels.
        patch_size (Sequence[int]): Patch size, same length as ``input_size``.
        in_channels (int): Input channels.
        drop_path_rate (float): Stochastic depth of the last block (linear from 0).
        with_cp (bool): Activation checkpointing of the blocks during training.
        init_cfg (dict, optional): Initialisation config.
        final_norm (bool): End with the LayerNorm ``norm`` (MAE pre-training). False leaves the
            last block's output as it is and the model has no ``norm`` weights: the MAE /
            Audio-MAE fine-tuning recipe with global pooling (the pooled vector gets an
            ``fc_norm`` instead), and the released MAViL, whose encoders have no final norm.
            Defaults to True.
    """

    #: Input size (without channels) of the family's released checkpoints; None: unknown.
    PRETRAIN_INPUT_SIZE: Optional[Tuple[int, ...]] = None

    def __init__(self,
                 arch: Union[str, dict],
                 input_size: Sequence[int],
                 patch_size: Sequence[int],
                 in_channels: int,
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None,
                 final_norm: bool = True) -> None:
        super().__init__(init_cfg=init_cfg)
        arch = parse_arch(arch)
        self.final_norm = final_norm
        self.embed_dims = arch['embed_dims']
        self.num_layers = arch['num_layers']
        self.num_heads = arch['num_heads']
        self.with_cp = with_cp
        self.in_channels = in_channels
        self.input_size = tuple(input_size)
        self.patch_size = tuple(patch_size)

        self.patch_embed = PatchEmbed(self.input_size, self.patch_size, in_channels,
                                      self.embed_dims)
        self.grid_size = self.patch_embed.grid_size
        # Plain Python, not tensors: the model must also build on the meta device.
        self.num_patches = math.prod(self.grid_size)
        self.patch_numel = math.prod(self.patch_size) * in_channels
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.register_buffer(
            'pos_embed',
            get_sincos_pos_embed(self.embed_dims, self.grid_size, cls_token=True).unsqueeze(0))
        self.blocks = build_blocks(self.num_layers, self.embed_dims, self.num_heads,
                                   arch['mlp_ratio'], drop_path_rate, arch['norm_eps'])
        self.norm = (nn.LayerNorm(self.embed_dims, eps=arch['norm_eps']) if final_norm else
                     nn.Identity())

        self.apply(init_mae_weights)
        nn.init.normal_(self.cls_token, std=.02)

    # ------------------------------------------------------------------ tokens
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch embedding plus positional embedding: ``(B, C, *S) -> (B, N, D)``."""
        return self.patch_embed(x) + self.pos_embed[:, 1:]

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prepend CLS, run the blocks and the final norm (if any).

        ``(B, L, D) -> (B, 1 + L, D)``.
        """
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)
        x = torch.cat([cls, tokens], dim=1)
        x = run_blocks(self.blocks, x, self.with_cp and self.training)
        return self.norm(x)

    def forward(self,
                x: torch.Tensor,
                ids_keep: Optional[torch.Tensor] = None,
                ids_keep_second: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Encode the tokens ``ids_keep`` (``(B, L)``; all tokens when None) of ``x``.

        With ``ids_keep_second`` (``(B, L)``, e.g. MAViL's disjoint second view) those tokens
        are encoded too, in the same pass as a batch of ``2B`` sequences: rows ``[B, 2B)`` of
        the output. Everything goes through ``forward`` so that a wrapper of the whole backbone
        (FSDP auto-wrap, hooks) sees every use of its weights.

        Returns:
            Tensor: ``(B, 1 + L, D)`` (``(2B, 1 + L, D)`` with a second view), CLS first.
        """
        tokens = self.embed(x)
        if ids_keep_second is not None:
            if ids_keep is None or ids_keep_second.shape != ids_keep.shape:
                raise ValueError('ids_keep_second needs ids_keep of the same shape')
            return self.encode(torch.cat([gather_tokens(tokens, ids_keep),
                                          gather_tokens(tokens, ids_keep_second)]))
        if ids_keep is not None:
            tokens = gather_tokens(tokens, ids_keep)
        return self.encode(tokens)

    # ------------------------------------------------------------------ patches
    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, *S) -> (B, N, patch_numel)`` in token order."""
        return patchify(x, self.patch_size)

    def unpatchify(self, patches: torch.Tensor) -> torch.Tensor:
        """``(B, N, patch_numel) -> (B, C, *S)``."""
        return unpatchify(patches, self.patch_size, self.grid_size, self.in_channels)

    # ------------------------------------------------------------------ weights
    @property
    def pretrain_grid_size(self) -> Optional[Tuple[int, ...]]:
        """Patch grid of the family's released checkpoints (``PRETRAIN_INPUT_SIZE`` in this
        model's patches), assumed for a checkpoint's ``pos_embed`` of that many positions."""
        if self.PRETRAIN_INPUT_SIZE is None:
            return None
        return tuple(s // p for s, p in zip(self.PRETRAIN_INPUT_SIZE, self.patch_size))

    def required_weights(self) -> Tuple[str, ...]:
        """A ``Pretrained`` checkpoint must hold every block weight (a shallower one raises)."""
        return ('blocks', )

    def convert_checkpoint(self, state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Map a foreign state dict onto this model's names and shapes (identity here)."""
        return state_dict

    def get_layer_depth(self, param_name: str, prefix: str = '') -> Tuple[int, int]:
        """The layer-decay depth of a parameter, as mmpretrain's ``VisionTransformer``.

        ``cls_token``, ``pos_embed`` and ``patch_embed`` are layer 0, ``blocks.{i}`` is layer
        ``i + 1``, everything else (the final ``norm``) is layer ``num_layers + 1``.

        Args:
            param_name (str): A parameter name, relative to this module after ``prefix``.
            prefix (str): The module's prefix in ``param_name`` (e.g. ``'audio_backbone.'``).

        Returns:
            tuple[int, int]: ``(layer_depth, num_layers + 2)``; MAE's layer-wise lr decay scales
            the lr by ``rate ** (num_layers + 2 - 1 - layer_depth)``.
        """
        total = self.num_layers + 2
        if not param_name.startswith(prefix):
            return total - 1, total
        name = param_name[len(prefix):]
        first = name.split('.')[0]
        if first in ('cls_token', 'pos_embed', 'patch_embed'):
            return 0, total
        if first == 'blocks':
            return int(name.split('.')[1]) + 1, total
        return total - 1, total
