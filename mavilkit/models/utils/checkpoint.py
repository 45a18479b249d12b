"""Reading pre-trained weights: one module for every caller.

Every place that takes weights from a file goes through these functions: ``init_cfg=dict(
type='Pretrained', ...)`` of any mavilkit module (:class:`PretrainedInitMixin`), the whole-model
checks of the classifiers, teacher targets, ``tools/analysis/extract_features.py`` and the
converters. They share one vocabulary with torch's ``load_state_dict``:

- **missing**: a tensor of the module that the checkpoint lacks;
- **unexpected**: a tensor of the checkpoint that the module lacks;
- **mismatched**: a tensor in both, with different shapes.

A disagreement that the caller does not accept raises :class:`CheckpointMismatchError` (a
``KeyError`` and a ``ValueError``) whose message names the file and the keys.

The pipeline of ``Pretrained`` (:func:`load_pretrained`)::

    load_state_dict(file | work dir)       unwrap state_dict / model / module, strip 'module.'
      -> filter_by_prefix(prefix)          e.g. 'audio_backbone.' of a MAViL checkpoint
      -> module.convert_checkpoint(state)  the model's own key mapping (if it defines one)
      -> adapt_pos_embed(...)              position codes moved onto the module's patch grid
      -> load_checked(module, state)       checks, then ``module.load_state_dict``

The last two play the role of timm's ``checkpoint_filter_fn``.
"""
import contextlib
import math
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger

StateDict = Dict[str, torch.Tensor]
POS_EMBED_MODES = ('crop', 'interpolate')
PRETRAINED_KEYS = ('type', 'checkpoint', 'prefix', 'map_location', 'adapt_pos_embed',
                   'crop_pos_embed', 'checkpoint_grid')


class CheckpointMismatchError(KeyError, ValueError):
    """A checkpoint does not fit a module: missing, unexpected or mismatched tensors.

    Both a ``KeyError`` (keys) and a ``ValueError`` (shapes), so that callers written against
    either keep working; the message names the checkpoint and the keys.
    """

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ''


@dataclass
class LoadReport:
    """What :func:`load_checked` did, in torch's vocabulary (keys of the module)."""
    loaded: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    mismatched: List[Tuple[str, tuple, tuple]] = field(default_factory=list)


def _head(keys: Sequence[str], n: int = 10) -> str:
    keys = list(keys)
    return f'{keys[:n]}' + (f' (+{len(keys) - n} more)' if len(keys) > n else '')


def _top_level(keys) -> List[str]:
    return sorted({k.split('.')[0] for k in keys})


# --------------------------------------------------------------------------- reading
def resolve_checkpoint(checkpoint: str) -> str:
    """A checkpoint file, or a work dir -> the file its ``last_checkpoint`` marker names.

    mmengine's ``CheckpointHook`` writes ``last_checkpoint`` (the path of the newest checkpoint)
    into the work dir, so a config can name a work dir and take whatever epoch that run finished.

    Raises:
        FileNotFoundError: ``checkpoint`` is a folder without a ``last_checkpoint`` file.
    """
    path = osp.expanduser(checkpoint)
    if not osp.isdir(path):
        return path
    marker = osp.join(path, 'last_checkpoint')
    if not osp.isfile(marker):
        raise FileNotFoundError(f'{path} is a folder without a last_checkpoint file (written by '
                                'CheckpointHook); give a checkpoint file instead')
    with open(marker, encoding='utf-8') as f:
        named = f.read().strip()
    # The marker holds the path as the run spelled it (maybe relative to its working directory).
    return named if osp.isfile(named) else osp.join(path, osp.basename(named))


def load_state_dict(checkpoint: str, map_location='cpu') -> StateDict:
    """The state dict of a checkpoint file or of a work dir's newest checkpoint.

    Local files are read with :func:`mavilkit.utils.load_local_checkpoint` (weights-only, and in
    full only for our own training checkpoints), URLs with mmengine's ``CheckpointLoader``. The
    tensors are taken from ``state_dict`` (mmengine), ``model`` (MAE / timm releases) or
    ``module``, in that order, or from the top level; a leading ``module.`` (DDP) is removed
    from every key.

    Args:
        checkpoint (str): A file, a URL, or a work dir (see :func:`resolve_checkpoint`).
        map_location: As for ``torch.load``. Defaults to ``'cpu'``.

    Returns:
        dict: ``{name: tensor}``.

    Raises:
        FileNotFoundError: No such file, or a folder without ``last_checkpoint``.
        CheckpointMismatchError: The file holds no dict of tensors.
    """
    from mavilkit.utils.compat import load_local_checkpoint
    path = resolve_checkpoint(checkpoint)
    if '://' in path:
        from mmengine.runner.checkpoint import CheckpointLoader
        raw = CheckpointLoader.load_checkpoint(path, map_location=map_location)
    else:
        raw = load_local_checkpoint(path, map_location=map_location)
    state = raw
    if isinstance(raw, Mapping):
        for key in ('state_dict', 'model', 'module'):
            if isinstance(raw.get(key), Mapping):
                state = raw[key]
                break
    if not isinstance(state, Mapping) or not any(
            isinstance(v, torch.Tensor) for v in state.values()):
        found = sorted(state)[:12] if isinstance(state, Mapping) else type(state).__name__
        raise CheckpointMismatchError(f'{path} holds no state dict (a dict of tensors, at the top '
                                      f'level or under state_dict / model / module); found {found}')
    return {(k[len('module.'):] if k.startswith('module.') else k): v for k, v in state.items()}


def filter_by_prefix(state_dict: Mapping[str, torch.Tensor], prefix: Optional[str],
                     source: str = 'the state dict') -> StateDict:
    """The tensors under ``prefix``, with the prefix removed (mmengine's ``prefix`` convention).

    ``prefix`` may be given with or without its trailing dot (``'audio_backbone'`` and
    ``'audio_backbone.'`` are the same); an empty or None prefix keeps everything.

    Raises:
        CheckpointMismatchError: No key starts with ``prefix``; the message names ``source``.
    """
    if not prefix:
        return dict(state_dict)
    prefix = prefix if prefix.endswith('.') else prefix + '.'
    picked = {k[len(prefix):]: v for k, v in state_dict.items() if k.startswith(prefix)}
    if not picked:
        raise CheckpointMismatchError(f'no key of {source} starts with prefix {prefix!r}; its '
                                      f'top-level keys are {_top_level(state_dict)[:12]}')
    return picked


# --------------------------------------------------------------------------- checking
def check_state_dict(module: nn.Module,
                     state_dict: Mapping[str, torch.Tensor],
                     *,
                     source: str = 'the state dict',
                     name: Optional[str] = None,
                     strict: bool = False,
                     required: Sequence[str] = (),
                     ignore: Sequence[str] = ()) -> LoadReport:
    """Compare ``state_dict`` with ``module``'s own; raise on what the caller does not accept.

    Always refused: a mismatched shape, and a state dict of which nothing fits.

    Args:
        module (nn.Module): The module to fill.
        state_dict (dict): Tensors under the module's names.
        source (str): What the state dict is, for messages (usually the file).
        name (str, optional): The module, for messages. Defaults to its class name.
        strict (bool): Refuse any missing or unexpected key too.
        required (Sequence[str]): Sub-modules (e.g. ``'blocks'``, ``'audio_backbone'``) all of
            whose tensors must be in ``state_dict``, even when not ``strict``.
        ignore (Sequence[str]): Key prefixes compared on neither side (e.g.
            ``'data_preprocessor.'``).

    Returns:
        LoadReport: ``loaded``, ``missing``, ``unexpected`` (``mismatched`` is empty).

    Raises:
        CheckpointMismatchError: As above; the message names ``source`` and the keys.
    """
    name = name or type(module).__name__
    ignore = tuple(ignore)
    own = {k: v for k, v in module.state_dict().items() if not (ignore and k.startswith(ignore))}
    given = {k: v for k, v in state_dict.items() if not (ignore and k.startswith(ignore))}
    mismatched = [(k, tuple(given[k].shape), tuple(v.shape)) for k, v in own.items()
                  if k in given and hasattr(given[k], 'shape') and given[k].shape != v.shape]
    if mismatched:
        raise CheckpointMismatchError(
            f'{name}: shape mismatch loading {source} (another architecture or input size?):\n  '
            + '\n  '.join(f'{k}: {a} in the checkpoint vs {b} in the model'
                          for k, a, b in mismatched[:20]))
    report = LoadReport(loaded=[k for k in own if k in given],
                        missing=sorted(k for k in own if k not in given),
                        unexpected=sorted(k for k in given if k not in own))
    for prefix in required:
        wanted = [k for k in own if k.startswith(prefix + '.')]
        lacking = [k for k in wanted if k not in given]
        if wanted and len(lacking) == len(wanted):
            raise CheckpointMismatchError(
                f'{name}: {source} has no weights for `{prefix}` (expected keys like '
                f'{wanted[0]!r}); its top-level keys are {_top_level(given)[:12]}. Refusing to '
                'leave it randomly initialised.')
        if lacking:
            raise CheckpointMismatchError(
                f'{name}: {source} lacks {len(lacking)} of the {len(wanted)} tensors of '
                f'`{prefix}`, e.g. {lacking[:4]} (a checkpoint of another depth?)')
    if strict and (report.missing or report.unexpected):
        raise CheckpointMismatchError(
            f'{name}: {source} does not match the model: {len(report.missing)} missing keys '
            f'{_head(report.missing)}, {len(report.unexpected)} unexpected keys '
            f'{_head(report.unexpected)}')
    if not report.loaded:
        raise CheckpointMismatchError(
            f'{name}: none of the {len(given)} tensors of {source} fits the model (e.g. '
            f'checkpoint {sorted(given)[:3]} vs model {sorted(own)[:3]})')
    return report


def load_checked(module: nn.Module,
                 state_dict: Mapping[str, torch.Tensor],
                 *,
                 source: str = 'the state dict',
                 name: Optional[str] = None,
                 strict: bool = False,
                 required: Sequence[str] = (),
                 ignore: Sequence[str] = ()) -> LoadReport:
    """:func:`check_state_dict`, then load the tensors that fit and log the rest.

    Arguments, return value and errors are those of :func:`check_state_dict`. Missing keys keep
    the module's own values; unexpected keys are ignored; both are logged as warnings.
    """
    report = check_state_dict(module, state_dict, source=source, name=name, strict=strict,
                              required=required, ignore=ignore)
    with _checked_load():
        module.load_state_dict({k: state_dict[k] for k in report.loaded}, strict=False)
    name = name or type(module).__name__
    logger = MMLogger.get_current_instance()
    logger.info(f'{name}: loaded {len(report.loaded)}/{len(report.loaded) + len(report.missing)}'
                f' tensors from {source}')
    if report.missing:
        logger.warning(f'{name}: missing in {source}, kept as initialised: '
                       f'{_head(report.missing, 20)}')
    if report.unexpected:
        logger.warning(f'{name}: unexpected keys of {source}, ignored: '
                       f'{_head(report.unexpected, 20)}')
    return report


# --------------------------------------------------------------------------- position codes
def _bicubic_2d(grid: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
    """``(..., H, W, D) -> (..., H', W', D)`` by bicubic interpolation (half-pixel centres)."""
    lead = grid.shape[:-3]
    x = grid.reshape(-1, *grid.shape[-3:]).permute(0, 3, 1, 2)
    x = F.interpolate(x.float(), size=size, mode='bicubic', align_corners=False)
    return x.permute(0, 2, 3, 1).reshape(*lead, *size, grid.shape[-1]).to(grid.dtype)


def adapt_pos_embed(pos_embed: torch.Tensor,
                    old_grid: Sequence[int],
                    new_grid: Sequence[int],
                    mode: str = 'crop',
                    num_prefix_tokens: int = 1,
                    source: str = 'the checkpoint') -> torch.Tensor:
    """Move position codes from one patch grid onto another, position by position.

    Tokens are laid out time-major, ``(t, f)`` for audio and ``(t, h, w)`` for video, so the
    codes are reshaped to their grid, adapted there and flattened back; the first
    ``num_prefix_tokens`` rows (CLS) are kept as they are.

    - ``mode='crop'``: each axis that is shorter in ``new_grid`` keeps its leading positions (the
      sub-grid ``grid[:T', :F']``). For the fixed sin-cos code (whose value at a position does
      not depend on the grid size) this *is* the code of the smaller grid; for a learned or
      foreign code it is the code each kept position was trained with. A longer axis is refused.
    - ``mode='interpolate'``: a shorter time axis (the first) is cropped as above; any other
      change is interpolated on the grid (timm's ``resample_abs_pos_embed``): 2-D grids
      bicubically; 3-D grids bicubically over ``(h, w)`` for each time step, then linearly over
      time when time grows. Half-pixel centres (``align_corners=False``), no antialiasing.

    Args:
        pos_embed (Tensor): ``(1, P + prod(old_grid), D)`` or ``(P + prod(old_grid), D)``.
        old_grid (Sequence[int]): Patch grid of ``pos_embed``, e.g. ``(64, 8)``.
        new_grid (Sequence[int]): Patch grid wanted, same rank, e.g. ``(64, 4)``.
        mode (str): ``'crop'`` or ``'interpolate'``.
        num_prefix_tokens (int): Leading rows not on the grid (1: CLS).
        source (str): Named in errors.

    Returns:
        Tensor: ``(1, P + prod(new_grid), D)`` (or without the batch axis, as given).

    Raises:
        ValueError: Unknown mode, a ``pos_embed`` that does not hold ``old_grid``, grids of
            different rank, or (``'crop'``) a longer axis; the message names both grids.
    """
    old_grid, new_grid = tuple(int(s) for s in old_grid), tuple(int(s) for s in new_grid)
    if mode not in POS_EMBED_MODES:
        raise ValueError(f'adapt_pos_embed: mode must be one of {POS_EMBED_MODES}, got {mode!r}')
    batched = pos_embed.dim() == 3
    rows = pos_embed[0] if batched else pos_embed
    if len(old_grid) != len(new_grid) or rows.shape[0] != num_prefix_tokens + math.prod(old_grid):
        raise ValueError(f'pos_embed of {source} {tuple(pos_embed.shape)} does not hold the grid '
                         f'{old_grid} (+{num_prefix_tokens} prefix rows); cannot move it onto '
                         f'{new_grid}')
    if old_grid == new_grid:
        return pos_embed
    prefix, grid = rows[:num_prefix_tokens], rows[num_prefix_tokens:]
    grid = grid.reshape(*old_grid, grid.shape[-1])
    if mode == 'crop':
        if any(n > o for o, n in zip(old_grid, new_grid)):
            raise ValueError(
                f'pos_embed of {source} is for the patch grid {old_grid}, the model has '
                f'{new_grid}: crop can only shorten axes (use adapt_pos_embed="interpolate")')
        grid = grid[tuple(slice(0, n) for n in new_grid)]
    else:
        if new_grid[0] < old_grid[0]:
            grid = grid[:new_grid[0]]
        if len(new_grid) == 2:
            if tuple(grid.shape[:2]) != new_grid:
                grid = _bicubic_2d(grid, new_grid)
        elif len(new_grid) == 3:
            if tuple(grid.shape[1:3]) != new_grid[1:]:
                grid = _bicubic_2d(grid, new_grid[1:])
            if grid.shape[0] != new_grid[0]:  # (T, H, W, D) -> (H·W·D, 1, T), linear in time
                t, h, w, d = grid.shape
                line = grid.reshape(t, -1).t().unsqueeze(1).float()
                line = F.interpolate(line, size=new_grid[0], mode='linear', align_corners=False)
                grid = line.squeeze(1).t().reshape(new_grid[0], h, w, d).to(grid.dtype)
        else:
            raise ValueError(f'adapt_pos_embed: grids of rank 2 or 3 only, got {old_grid}')
    out = torch.cat([prefix, grid.reshape(-1, grid.shape[-1])], dim=0)
    return out.unsqueeze(0) if batched else out


def infer_checkpoint_grid(num_tokens: int, grid: Sequence[int],
                          pretrain_grid: Optional[Sequence[int]] = None,
                          source: str = 'the checkpoint') -> Tuple[int, ...]:
    """The patch grid of a checkpoint's ``num_tokens`` position codes, for a model on ``grid``.

    The rule, in order: ``pretrain_grid`` (the grid of the model family's released checkpoints,
    e.g. 64 × 8 for a 1024 × 128 fbank in 16 × 16 patches) when its size is ``num_tokens``;
    otherwise the model's grid with another time length. Give ``checkpoint_grid`` in the
    ``init_cfg`` when neither holds.

    Raises:
        ValueError: Neither rule gives ``num_tokens`` positions; names both sizes.
    """
    grid = tuple(grid)
    if pretrain_grid is not None and math.prod(pretrain_grid) == num_tokens:
        return tuple(pretrain_grid)
    rest = math.prod(grid[1:])
    if num_tokens % rest == 0:
        return (num_tokens // rest, ) + grid[1:]
    raise ValueError(f'{source} has {num_tokens} position codes, which is neither the grid '
                     f'{pretrain_grid} nor the model grid {grid} with another time length; give '
                     'checkpoint_grid=(...) in the init_cfg')


# --------------------------------------------------------------------------- Pretrained
def parse_pretrained_cfg(init_cfg: dict, owner: str) -> dict:
    """Validate ``dict(type='Pretrained', checkpoint, prefix, ...)``; keyword args of
    :func:`load_pretrained`.

    Keys: ``checkpoint`` (required), ``prefix``, ``map_location``, ``adapt_pos_embed``
    (``None``, ``'crop'`` or ``'interpolate'``), ``crop_pos_embed=True`` (the same as
    ``adapt_pos_embed='crop'``), ``checkpoint_grid`` (the patch grid of the checkpoint's
    ``pos_embed`` when :func:`infer_checkpoint_grid` cannot tell).

    Raises:
        KeyError: An unknown key, or no ``checkpoint``.
        ValueError: An unknown ``adapt_pos_embed`` mode.
    """
    cfg = dict(init_cfg)
    unknown = sorted(set(cfg) - set(PRETRAINED_KEYS))
    if unknown:
        raise KeyError(f'{owner}: init_cfg {cfg} has unknown keys {unknown}; allowed: '
                       f'{", ".join(PRETRAINED_KEYS[1:])}')
    if 'checkpoint' not in cfg:
        raise KeyError(f'{owner}: init_cfg {cfg} lacks `checkpoint`')
    mode = cfg.get('adapt_pos_embed')
    if cfg.get('crop_pos_embed'):
        if mode not in (None, 'crop'):
            raise ValueError(f'{owner}: crop_pos_embed=True contradicts adapt_pos_embed={mode!r}')
        mode = 'crop'
    if mode is not None and mode not in POS_EMBED_MODES:
        raise ValueError(f'{owner}: adapt_pos_embed must be None or one of {POS_EMBED_MODES}, '
                         f'got {mode!r}')
    return dict(checkpoint=cfg['checkpoint'], prefix=cfg.get('prefix'),
                map_location=cfg.get('map_location', 'cpu'), adapt_pos_embed=mode,
                checkpoint_grid=cfg.get('checkpoint_grid'))


def _adapt_module_pos_embed(module: nn.Module, state: StateDict, mode: Optional[str],
                            checkpoint_grid: Optional[Sequence[int]], source: str,
                            name: str) -> None:
    pos, own = state.get('pos_embed'), getattr(module, 'pos_embed', None)
    grid = getattr(module, 'grid_size', None)
    if pos is None or own is None or grid is None or pos.dim() != own.dim():
        return
    prefix_rows = own.shape[-2] - math.prod(grid)
    num_tokens = pos.shape[-2] - prefix_rows
    if checkpoint_grid is None and pos.shape == own.shape:
        return
    old = tuple(checkpoint_grid) if checkpoint_grid is not None else infer_checkpoint_grid(
        num_tokens, grid, getattr(module, 'pretrain_grid_size', None), source)
    if old == tuple(grid):
        return
    if mode is None:
        raise CheckpointMismatchError(
            f'{name}: pos_embed of {source} is for the patch grid {old}, the model has '
            f'{tuple(grid)}; set adapt_pos_embed="crop" or "interpolate" in the init_cfg to move '
            'it onto the model grid')
    state['pos_embed'] = adapt_pos_embed(pos, old, grid, mode, prefix_rows, source)
    MMLogger.get_current_instance().info(
        f'{name}: pos_embed of {source} moved from the grid {old} to {tuple(grid)} ({mode})')


def load_pretrained(module: nn.Module,
                    checkpoint: str,
                    prefix: Optional[str] = None,
                    *,
                    map_location='cpu',
                    adapt_pos_embed: Optional[str] = None,
                    checkpoint_grid: Optional[Sequence[int]] = None,
                    name: Optional[str] = None) -> LoadReport:
    """The one implementation of ``init_cfg=dict(type='Pretrained', ...)``.

    Reads ``checkpoint`` (:func:`load_state_dict`), keeps ``prefix`` (:func:`filter_by_prefix`),
    applies ``module.convert_checkpoint(state)`` when the module defines it, moves ``pos_embed``
    onto the module's ``grid_size`` when the module has both (:func:`adapt_pos_embed`; without
    ``adapt_pos_embed`` another grid is an error naming both), and loads with
    :func:`load_checked`, requiring every tensor of ``module.required_weights()``.

    Returns:
        LoadReport: The loaded, missing and unexpected keys.

    Raises:
        FileNotFoundError: No such checkpoint.
        CheckpointMismatchError: No key with ``prefix``, a shape mismatch, a required tensor
            missing, or another position grid without ``adapt_pos_embed``.
    """
    name = name or type(module).__name__
    source = str(checkpoint)
    state = load_state_dict(checkpoint, map_location=map_location)
    state = filter_by_prefix(state, prefix, source)
    convert = getattr(module, 'convert_checkpoint', None)
    if convert is not None:
        state = convert(dict(state))
    _adapt_module_pos_embed(module, state, adapt_pos_embed, checkpoint_grid, source, name)
    required_weights = getattr(module, 'required_weights', None)
    required = required_weights() if required_weights is not None else ()
    return load_checked(module, state, source=source, name=name, required=required)


def _split_pretrained(init_cfg) -> Tuple[Optional[dict], Union[dict, list, None]]:
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg] if init_cfg else []
    pretrained = [c for c in cfgs if c.get('type') == 'Pretrained']
    others = [c for c in cfgs if c.get('type') != 'Pretrained']
    if len(pretrained) > 1:
        raise KeyError(f'init_cfg has {len(pretrained)} Pretrained entries: {pretrained}')
    return (pretrained[0] if pretrained else None), (others or None)


_CHECKED_LOADS = [0]  # depth of load_checked calls under way (their policy was applied already)


@contextlib.contextmanager
def _checked_load():
    _CHECKED_LOADS[0] += 1
    try:
        yield
    finally:
        _CHECKED_LOADS[0] -= 1


def check_whole_model_load(module: nn.Module, state_dict: Mapping[str, torch.Tensor],
                           required: Sequence[str], source: Optional[str] = None,
                           optional: Sequence[str] = ('data_preprocessor', )) -> LoadReport:
    """The check of a whole-model ``load_state_dict`` (``load_from``, ``tools/test.py``, resume).

    Every tensor of ``module`` must be in ``state_dict`` with its shape: each part of
    ``required`` is named when it is absent, other missing tensors are listed. The parts in
    ``optional`` are not compared (the data preprocessor has no learned weights; an EMA target
    checks its own training state); unexpected keys are allowed.

    Raises:
        CheckpointMismatchError: Naming ``source`` (by default the checkpoint file mmengine just
            read, see :func:`mavilkit.utils.compat.checkpoint_file_of`) and the missing part or
            the key with both shapes.
    """
    if source is None:
        from mavilkit.utils.compat import checkpoint_file_of
        source = checkpoint_file_of(state_dict) or 'the state dict'
    name = f'{type(module).__name__} (whole-model load)'
    ignore = tuple(f'{part}.' for part in optional)
    report = check_state_dict(module, state_dict, source=source, name=name, ignore=ignore)
    if not report.missing:
        return report
    hint = ('A whole-model load (load_from, tools/test.py, resume) must fill every part; to '
            "start from part of a checkpoint, use init_cfg=dict(type='Pretrained', "
            'checkpoint=..., prefix=...) instead (docs/en/user_guides/finetune.md).')
    absent = [part for part in required
              if not any(k.startswith(part + '.') for k in report.loaded)
              and any(k.startswith(part + '.') for k in report.missing)]
    if absent:
        raise CheckpointMismatchError(
            f'{name}: {source} has no weights for {", ".join(f"`{p}`" for p in absent)} '
            f'(its top-level keys are {_top_level(state_dict)[:12]}); refusing to leave '
            f'{"it" if len(absent) == 1 else "them"} randomly initialised. {hint}')
    raise CheckpointMismatchError(
        f'{name}: {source} lacks {len(report.missing)} tensors of the model: '
        f'{_head(report.missing)} (a checkpoint of another depth or configuration?). {hint}')


class PretrainedInitMixin:
    """Give an mmengine ``BaseModule`` the one meaning of ``init_cfg=dict(type='Pretrained')``.

    ``init_weights`` first initialises as usual (other ``init_cfg`` entries, the children), then
    loads the checkpoint with :func:`load_pretrained`, whatever the parent model is. Subclasses
    may define ``required_weights()`` (sub-modules that must come from the checkpoint),
    ``convert_checkpoint(state)`` (their own key mapping) and ``pretrain_grid_size`` (the patch
    grid of the family's released checkpoints, for :func:`infer_checkpoint_grid`).

    With ``check_state_dict_loads = True``, a plain ``load_state_dict`` of the whole module
    (mmengine's ``load_from``, ``tools/test.py``, resume) is checked too
    (:func:`check_whole_model_load`): every part of ``whole_model_weights()`` (by default every
    child with tensors: encoders, fusion, head, decoders...) and every other tensor of the module
    must be in it, and shapes must agree. ``required_weights()`` (what a ``Pretrained``
    checkpoint must give) is not enough here: a pre-training checkpoint has the encoders of a
    classifier but not its fusion and head, which would stay random. Loads through
    :func:`load_checked` (``Pretrained``, teachers, ``init_model``) apply their own policy and
    are not checked again.
    """

    check_state_dict_loads: bool = False

    def required_weights(self) -> Sequence[str]:
        """Sub-modules all of whose tensors a ``Pretrained`` checkpoint must provide."""
        return ()

    def whole_model_weights(self) -> Sequence[str]:
        """Parts that a whole-model checkpoint must fill: every child with tensors."""
        keys = self.state_dict().keys()  # type: ignore[attr-defined]
        return [name for name in self._modules  # type: ignore[attr-defined]
                if name not in self.optional_weights()
                and any(k.startswith(name + '.') for k in keys)]

    def optional_weights(self) -> Sequence[str]:
        """Children a whole-model load does not compare (the data preprocessor by default)."""
        return ('data_preprocessor', )

    def init_weights(self) -> None:
        init_cfg = getattr(self, 'init_cfg', None)
        pretrained, others = _split_pretrained(init_cfg)
        # The mixin precedes a BaseModule in the MRO (mypy sees only `object` above it).
        if pretrained is None:
            return super().init_weights()  # type: ignore[misc]
        spec = parse_pretrained_cfg(pretrained, type(self).__name__)
        self.init_cfg = others
        try:
            super().init_weights()  # type: ignore[misc]
        finally:
            self.init_cfg = init_cfg
        load_pretrained(self, **spec)  # type: ignore[arg-type]
        self._is_init = True

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        if prefix == '' and self.check_state_dict_loads and not _CHECKED_LOADS[0]:
            check_whole_model_load(self, state_dict, self.whole_model_weights(),  # type: ignore
                                   optional=self.optional_weights())
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)
