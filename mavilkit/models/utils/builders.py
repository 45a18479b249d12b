"""Build the parts whose widths follow the encoders: fusion necks and decoders.

A config names what differs from the encoders (depth, decoder width); the widths that must
agree with the encoders and the targets are filled in here, once, for every model that has
such parts (``MAViL``, ``AVClassifier``, ``AVRetriever``). A value the config gives is kept.
"""
import copy
import inspect
from typing import TYPE_CHECKING, Optional

import torch.nn as nn

from mavilkit.registry import MODELS

if TYPE_CHECKING:
    from .vit import BaseViT


def accepts(cfg: dict, arg: str) -> bool:
    """Whether the class named by ``cfg['type']`` takes the constructor argument ``arg``.

    Raises:
        KeyError: ``cfg['type']`` is not registered in mavilkit's ``MODELS``.
    """
    cls = cfg['type'] if inspect.isclass(cfg['type']) else MODELS.get(cfg['type'])
    if cls is None:
        raise KeyError(f'{cfg["type"]!r} is not registered in mavilkit MODELS')
    return arg in inspect.signature(cls.__init__).parameters


def part_cfg(cfg: dict, with_cp: bool = False) -> dict:
    """A deep copy of ``cfg``; ``with_cp=True`` switches on activation checkpointing in it
    when its class has a ``with_cp`` argument (``IdentityFusion`` has none)."""
    cfg = copy.deepcopy(dict(cfg))
    if with_cp and accepts(cfg, 'with_cp'):
        cfg['with_cp'] = True
    return cfg


def build_fusion_neck(cfg: dict, audio_backbone: 'BaseViT', video_backbone: 'BaseViT',
                      with_cp: bool = False, owner: Optional[str] = None) -> nn.Module:
    """Build a fusion neck over the two encoders' tokens.

    A neck with ``embed_dims`` / ``num_heads`` arguments (``VanillaFusion``, ``MBTFusion``)
    gets the audio encoder's values where ``cfg`` leaves them out; a neck without
    (``IdentityFusion``) is built as it is.

    Args:
        cfg (dict): The neck config, e.g. ``dict(type='VanillaFusion', num_layers=2)``.
        audio_backbone (nn.Module): With ``embed_dims`` and ``num_heads``.
        video_backbone (nn.Module): With ``embed_dims``.
        with_cp (bool): Switch on activation checkpointing (see :func:`part_cfg`).
        owner (str, optional): Named in errors, e.g. ``'AVClassifier'``.

    Raises:
        ValueError: The neck fuses tokens of one width but the encoders' widths differ.
    """
    cfg = part_cfg(cfg, with_cp)
    if accepts(cfg, 'embed_dims'):
        dims = (int(audio_backbone.embed_dims), int(video_backbone.embed_dims))
        if dims[0] != dims[1]:
            raise ValueError(f'{owner or "fusion"}: {cfg["type"]} fuses tokens of one width, '
                             f'but the audio and video backbones have {dims[0]} and {dims[1]} '
                             'embed_dims')
        cfg.setdefault('embed_dims', dims[0])
        cfg.setdefault('num_heads', audio_backbone.num_heads)
    return MODELS.build(cfg)


def build_decoder(cfg: dict, backbone: 'BaseViT', out_dims: int,
                  with_cp: bool = False) -> nn.Module:
    """Build a per-modality decoder: ``grid_size`` and ``in_dims`` from its encoder,
    ``out_dims`` (values predicted per patch) from the target generator, where ``cfg`` leaves
    them out.

    Args:
        cfg (dict): E.g. ``dict(type='MAEDecoder', embed_dims=512, num_layers=8, num_heads=16)``.
        backbone (nn.Module): The modality's encoder (``grid_size``, ``embed_dims``).
        out_dims (int): ``target_generator.out_dims[modality]``, e.g. 256 for raw audio patches.
        with_cp (bool): Switch on activation checkpointing (see :func:`part_cfg`).
    """
    cfg = part_cfg(cfg, with_cp)
    cfg.setdefault('grid_size', tuple(backbone.grid_size))
    cfg.setdefault('in_dims', backbone.embed_dims)
    cfg.setdefault('out_dims', out_dims)
    return MODELS.build(cfg)
