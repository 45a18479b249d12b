"""Optimizer-wrapper constructor for fine-tuning: layer-wise lr decay and per-branch lr (§4.3)."""
import re
from typing import Dict, List, Optional, Tuple

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor

from mavilkit.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Parameter groups for ViT fine-tuning (MAE's ``param_groups_lrd``, plus branch multipliers).

    For each trainable parameter ``p`` named ``n``:

    - **layer-wise lr decay** (optional): inside each ViT backbone listed in ``backbone_prefixes``,
      ``cls_token``, ``pos_embed`` and ``patch_embed`` are layer 0, ``blocks.{i}`` is layer
      ``i + 1`` and the rest (final ``norm``) is layer ``L + 1``; the lr is multiplied by
      ``layer_decay_rate ** (L + 1 - layer)``. Parameters outside the backbones (fusion layers,
      head) keep scale 1. ``layer_decay_rate=1.0`` (default) switches it off; Table 10 lists no
      layer decay, Audio-MAE fine-tunes with 0.75.
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
    _EMBED_KEYS = ('cls_token', 'pos_embed', 'patch_embed')

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

    def layer_scale(self, name: str, num_layers: Dict[str, int]) -> float:
        """The layer-decay multiplier of parameter ``name``."""
        rate = float(self.paramwise_cfg['layer_decay_rate'])
        for prefix, depth in num_layers.items():
            if not name.startswith(prefix + '.'):
                continue
            local = name[len(prefix) + 1:]
            block = re.match(r'blocks\.(\d+)\.', local)
            if block:
                layer = int(block.group(1)) + 1
            elif local.split('.')[0] in self._EMBED_KEYS:
                layer = 0
            else:
                layer = depth + 1
            return rate**(depth + 1 - layer)
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
        num_layers = {}
        for backbone in self.paramwise_cfg['backbone_prefixes']:
            indices = [int(m.group(1)) for n, _ in named
                       for m in [re.match(re.escape(backbone) + r'\.blocks\.(\d+)\.', n)] if m]
            if indices:
                num_layers[backbone] = max(indices) + 1
        if self.paramwise_cfg['layer_decay_rate'] < 1. and not num_layers:
            raise ValueError(
                'layer_decay_rate < 1 but no parameter matches any of backbone_prefixes '
                f"{self.paramwise_cfg['backbone_prefixes']} followed by '.blocks.<i>.'")
        base_wd = self.base_wd or 0.
        groups: Dict[Tuple[float, float], dict] = {}
        for name, param in named:
            lr_mult, decay_mult = self.custom_mults(name)
            scale = self.layer_scale(name, num_layers) * lr_mult
            no_decay = param.ndim <= 1 or any(
                k in name for k in self.paramwise_cfg['no_decay_keys'])
            wd = 0. if no_decay else base_wd * decay_mult
            group = groups.setdefault((scale, wd), dict(
                params=[], lr=self.base_lr * scale, weight_decay=wd, lr_scale=scale))
            group['params'].append(param)
        params.extend(groups.values())
        MMLogger.get_current_instance().info(
            f'{type(self).__name__}: {len(named)} trainable tensors in {len(groups)} groups '
            f'(layer_decay_rate={self.paramwise_cfg["layer_decay_rate"]}, backbone depths '
            f'{num_layers}, lr scales {sorted({round(k[0], 6) for k in groups})})')
