"""Optimizer-wrapper constructor for fine-tuning: layer-wise lr decay and per-branch lr (§4.3)."""
from typing import Any, Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from mavilkit.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups for ViT fine-tuning (MAE's ``param_groups_lrd``, plus branch multipliers).

    For each trainable parameter ``p`` named ``n``:

    - **layer-wise lr decay** (optional): each sub-module listed in ``backbone_prefixes`` that has
      ``get_layer_depth(name, prefix) -> (layer, num_layers)`` (the ViTs, as mmpretrain's) is
      asked for the depth of its parameters (ViT: ``cls_token``, ``pos_embed`` and
      ``patch_embed`` are layer 0, ``blocks.{i}`` is layer ``i + 1``, the final ``norm`` is layer
      ``L + 1``, with ``num_layers = L + 2``); the lr is multiplied by
      ``layer_decay_rate ** (num_layers - 1 - layer)``. Parameters outside the backbones (fusion
      layers, head) keep scale 1. ``layer_decay_rate=1.0`` (default) switches it off; Table 10
      lists no layer decay, Audio-MAE fine-tunes with 0.75.
    - **per-branch / per-key multipliers**: ``custom_keys`` as in mmengine's default constructor,
      ``{substring: dict(lr_mult=..., decay_mult=...)}``, the longest matching key wins. MAViL's
      A+V fine-tuning halves the video encoder's lr: ``custom_keys={'video_backbone.':
      dict(lr_mult=0.5)}`` (§4.3, Appendix B).
    - **no weight decay** on 1-D parameters (norms, biases) and on parameters whose name contains
      one of ``no_decay_keys`` (position embeddings, CLS / MASK tokens).

    Parameters with the same (lr, weight decay) share one group. Each group also records
    ``lr_scale`` (the multiplier on the base lr), kept by the schedulers, which scale every group's
    lr relative to its own initial value.

    Example::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=2e-4, betas=(0.9, 0.95), weight_decay=1e-5),
            constructor='LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.75,
                               custom_keys={'video_backbone.': dict(lr_mult=0.5)}))
    """

    _DEFAULTS = dict(
        layer_decay_rate=1.0,
        backbone_prefixes=('audio_backbone', 'video_backbone'),
        no_decay_keys=('cls_token', 'pos_embed', 'mask_token'),
        custom_keys={})

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        unknown = set(paramwise_cfg) - set(self._DEFAULTS)
        if unknown:
            raise KeyError(f'Unknown paramwise_cfg keys {sorted(unknown)} for '
                           f'{type(self).__name__}; allowed: {sorted(self._DEFAULTS)}')
        paramwise_cfg = {**self._DEFAULTS, **paramwise_cfg}
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        rate = float(paramwise_cfg['layer_decay_rate'])
        if not 0. < rate <= 1.:
            raise ValueError(f'layer_decay_rate must be in (0, 1], got {rate}')
        for key, value in paramwise_cfg['custom_keys'].items():
            bad = set(value) - {'lr_mult', 'decay_mult'}
            if bad:
                raise KeyError(f'custom_keys[{key!r}] has unsupported options {sorted(bad)}; '
                               'use lr_mult and decay_mult')

    def layer_scale(self, name: str, backbones: Dict[str, Any]) -> float:
        """The layer-decay multiplier of parameter ``name`` (1 outside the backbones)."""
        rate = float(self.paramwise_cfg['layer_decay_rate'])
        for prefix, backbone in backbones.items():
            if name.startswith(prefix + '.'):
                layer, num_layers = backbone.get_layer_depth(name, prefix + '.')
                return rate**(num_layers - 1 - layer)
        return 1.

    def custom_mults(self, name: str) -> Tuple[float, float]:
        """``(lr_mult, decay_mult)`` of the longest ``custom_keys`` entry contained in ``name``."""
        custom_keys = self.paramwise_cfg['custom_keys']
        for key in sorted(sorted(custom_keys), key=len, reverse=True):
            if key in name:
                return (float(custom_keys[key].get('lr_mult', 1.)),
                        float(custom_keys[key].get('decay_mult', 1.)))
        return 1., 1.

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '', **kwargs) -> None:
        """Fill ``params`` with one group per distinct (lr, weight decay)."""
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        backbones: Dict[str, Any] = {}  # modules with get_layer_depth (the ViTs)
        for prefix in self.paramwise_cfg['backbone_prefixes']:
            try:
                backbone = module.get_submodule(prefix)
            except AttributeError:
                continue
            if hasattr(backbone, 'get_layer_depth'):
                backbones[prefix] = backbone
        if self.paramwise_cfg['layer_decay_rate'] < 1. and not backbones:
            raise ValueError(
                'layer_decay_rate < 1 but none of backbone_prefixes '
                f"{self.paramwise_cfg['backbone_prefixes']} names a sub-module with "
                'get_layer_depth()')
        base_wd = self.base_wd or 0.
        groups: Dict[Tuple[float, float], dict] = {}
        for name, param in named:
            lr_mult, decay_mult = self.custom_mults(name)
            scale = self.layer_scale(name, backbones) * lr_mult
            no_decay = param.ndim <= 1 or any(
                k in name for k in self.paramwise_cfg['no_decay_keys'])
            wd = 0. if no_decay else base_wd * decay_mult
            group = groups.setdefault((scale, wd), dict(
                params=[], lr=self.base_lr * scale, weight_decay=wd, lr_scale=scale))
            group['params'].append(param)
        params.extend(groups.values())
        depths = {k: getattr(b, 'num_layers', '?') for k, b in backbones.items()}
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {len(named)} trainable tensors in {len(groups)} groups '
            f'(layer_decay_rate={self.paramwise_cfg["layer_decay_rate"]}, backbone depths '
            f'{depths}, lr scales {sorted({round(k[0], 6) for k in groups})})')
