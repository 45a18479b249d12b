"""Loading pre-trained MAViL encoders into downstream models, loudly.

mmengine's ``PretrainedInit`` loads with ``strict=False`` and only logs size mismatches and
missing keys, so a wrong prefix or another architecture could leave a backbone randomly
initialised without an error. Downstream models use these checks instead.
"""
from typing import Dict, Iterable, Mapping

import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.runner.checkpoint import CheckpointLoader


def _top_prefixes(keys: Iterable[str]) -> list:
    return sorted({k.split('.')[0] for k in keys})


def check_loadable(model: nn.Module, state_dict: Mapping[str, torch.Tensor],
                   required_prefixes: Iterable[str], source: str = 'the state dict') -> None:
    """Raise when ``state_dict`` cannot fill the modules ``required_prefixes`` of ``model``.

    Raises:
        KeyError: No tensor of one required module is in ``state_dict``.
        ValueError: A tensor has another shape in ``state_dict`` than in ``model``.
    """
    own = model.state_dict()
    mismatched = [f'{k}: {tuple(v.shape)} in {source} vs {tuple(own[k].shape)} in the model'
                  for k, v in state_dict.items()
                  if k in own and hasattr(v, 'shape') and v.shape != own[k].shape]
    if mismatched:
        raise ValueError(f'{type(model).__name__}: shape mismatch loading {source} (another '
                         'architecture or input size?):\n  ' + '\n  '.join(mismatched[:20]))
    for prefix in required_prefixes:
        wanted = [k for k in own if k.startswith(prefix + '.')]
        if wanted and not any(k in state_dict for k in wanted):
            raise KeyError(
                f'{type(model).__name__}: {source} has no weights for `{prefix}` (expected keys '
                f'like {wanted[0]!r}); its top-level keys are {_top_prefixes(state_dict)[:12]}. '
                'Refusing to leave the encoder randomly initialised.')


def load_checkpoint_state(checkpoint: str) -> Dict[str, torch.Tensor]:
    """The state dict of a checkpoint file (under ``state_dict``, ``model`` or top level)."""
    raw = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    for key in ('state_dict', 'model', 'module'):
        if isinstance(raw, dict) and isinstance(raw.get(key), dict):
            return raw[key]
    return raw


def load_module_from_checkpoint(module: nn.Module, checkpoint: str, prefix: str, name: str,
                                crop_pos_embed: bool = False) -> None:
    """Load the ``prefix``-ed tensors of ``checkpoint`` into ``module`` with checks.

    Raises when no key has ``prefix`` or when shapes differ; logs how many tensors were loaded,
    and the missing and unexpected keys.

    ``crop_pos_embed=True`` lets an audio encoder for *shorter* spectrograms (ESC-50: 512 frames,
    SPC: 128) take the first ``1 + N`` entries of a 1024-frame checkpoint's ``pos_embed``: the
    tokens are time-major, so a 32 × 8 grid is exactly the first 32 time rows of the 64 × 8 grid.
    """
    state = load_checkpoint_state(checkpoint)
    prefix = prefix if prefix.endswith('.') or not prefix else prefix + '.'
    sub = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not sub:
        raise KeyError(f'{name}: no key of {checkpoint} starts with {prefix!r}; its top-level '
                       f'keys are {_top_prefixes(state)[:12]}')
    own = module.state_dict()
    pos = sub.get('pos_embed')
    own_pos = own.get('pos_embed')
    if crop_pos_embed and pos is not None and own_pos is not None \
            and pos.shape[1] > own_pos.shape[1] and pos.shape[2:] == own_pos.shape[2:]:
        MMLogger.get_current_instance().info(
            f'{name}: using the first {own["pos_embed"].shape[1]} of {pos.shape[1]} pos_embed '
            'entries of the checkpoint (shorter input, time-major tokens)')
        sub['pos_embed'] = pos[:, :own['pos_embed'].shape[1]]
    mismatched = [f'{prefix}{k}: {tuple(v.shape)} in the checkpoint vs {tuple(own[k].shape)}'
                  for k, v in sub.items() if k in own and v.shape != own[k].shape]
    if mismatched:
        raise ValueError(f'{name}: shape mismatch loading {checkpoint}:\n  ' +
                         '\n  '.join(mismatched[:20]))
    loadable = {k: v for k, v in sub.items() if k in own}
    if not loadable:
        raise KeyError(f'{name}: none of the {len(sub)} tensors under {prefix!r} in {checkpoint} '
                       f'matches the module (e.g. checkpoint {sorted(sub)[:3]} vs module '
                       f'{sorted(own)[:3]})')
    module.load_state_dict(loadable, strict=False)
    missing = sorted(set(own) - set(loadable))
    unexpected = sorted(set(sub) - set(own))
    logger = MMLogger.get_current_instance()
    logger.info(f'{name}: loaded {len(loadable)}/{len(own)} tensors from {checkpoint} '
                f'(prefix {prefix!r})')
    if missing:
        logger.warning(f'{name}: missing in the checkpoint, kept as initialised: {missing}')
    if unexpected:
        logger.warning(f'{name}: unexpected checkpoint keys, ignored: {unexpected}')


class PretrainedEncodersMixin:
    """Take over ``Pretrained`` init configs with a ``prefix`` and check every state-dict load.

    A sub-module config such as ``audio_backbone=dict(type='AudioViT', init_cfg=dict(
    type='Pretrained', checkpoint=CKPT, prefix='audio_backbone.'))`` is popped before the module
    is built and applied by :meth:`load_pretrained_parts` (called from ``init_weights``) with
    :func:`load_module_from_checkpoint`. Loading a whole state dict into the model (``load_from``,
    a ``Pretrained`` init config without prefix on the model) goes through
    ``_load_from_state_dict``, which runs :func:`check_loadable` for the encoders in use.
    """

    def pop_pretrained(self, name: str, cfg: dict) -> dict:
        cfg = dict(cfg)
        init_cfg = cfg.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained' \
                and init_cfg.get('prefix') is not None:
            unknown = set(init_cfg) - {'type', 'checkpoint', 'prefix', 'crop_pos_embed'}
            if unknown:
                raise KeyError(f'{name}.init_cfg: unknown keys {sorted(unknown)}')
            self._pretrained_parts[name] = dict(checkpoint=init_cfg['checkpoint'],
                                                prefix=init_cfg['prefix'],
                                                crop_pos_embed=init_cfg.get('crop_pos_embed',
                                                                            False))
            cfg.pop('init_cfg')
        return cfg

    def load_pretrained_parts(self) -> None:
        for name, spec in self._pretrained_parts.items():
            load_module_from_checkpoint(getattr(self, name), spec['checkpoint'], spec['prefix'],
                                        f'{type(self).__name__}.{name}', spec['crop_pos_embed'])

    def required_prefixes(self) -> list:
        raise NotImplementedError

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        if prefix == '':  # the whole model is being loaded
            check_loadable(self, state_dict, self.required_prefixes())
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
