"""What the checkpoint converters of ``tools/model_converters/`` share.

A converter reads a released checkpoint of another code base, renames (and where needed
reshapes) its tensors into mavilkit's names, and accounts for every tensor: *mapped* (with the
source key), *dropped* (with the reason), and, against the model of the mavilkit config that
will load the result, *missing* (model tensors the file does not provide; they keep their
initialisation). :class:`ConversionReport` keeps that account and refuses to write a result in
which a source tensor was neither mapped nor dropped.
"""
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn


class NotThisKindError(ValueError):
    """The file is a checkpoint, but not of the kind the converter handles."""


class ConversionReport:
    """Mapped / dropped / missing tensors of one conversion.

    Args:
        source (str): The converted file (for messages).
        kind (str): What the converter recognised, e.g. ``'MAViL release, A+V fine-tuned'``.
        state (dict): The source state dict; every key must end up mapped or dropped.
    """

    def __init__(self, source: str, kind: str, state: Dict[str, torch.Tensor]) -> None:
        self.source = source
        self.kind = kind
        self._state = state
        self.mapped: 'OrderedDict[str, str]' = OrderedDict()  # new key -> source key / note
        self.dropped: 'OrderedDict[str, str]' = OrderedDict()  # source key -> reason
        self.missing: List[str] = []
        self.notes: List[str] = []
        self.output: 'OrderedDict[str, torch.Tensor]' = OrderedDict()

    def map(self, new_key: str, source_key: Union[str, Sequence[str]],
            value: Optional[torch.Tensor] = None, how: str = '') -> None:
        """Write ``value`` (default: the source tensor, unchanged) under ``new_key``."""
        keys = [source_key] if isinstance(source_key, str) else list(source_key)
        if value is None:
            value = self._state[keys[0]]
        if new_key in self.output:
            raise KeyError(f'converter bug: {new_key} written twice (from {keys})')
        self.output[new_key] = value.detach().clone().contiguous()
        self.mapped[new_key] = ' + '.join(keys) + (f' ({how})' if how else '')
        for key in keys:
            self.dropped.pop(key, None)

    def drop(self, source_key: str, reason: str) -> None:
        self.dropped[source_key] = reason

    def note(self, text: str) -> None:
        """A remark about the whole conversion (an architectural difference, a choice)."""
        self.notes.append(text)

    def used(self) -> set:
        used = set(self.dropped)
        for src in self.mapped.values():
            used.update(k.strip() for k in re.sub(r' \(.*\)$', '', src).split(' + '))
        return used

    def finish(self) -> 'OrderedDict[str, torch.Tensor]':
        """Check that every source tensor was accounted for; return the converted state."""
        unaccounted = sorted(set(self._state) - self.used())
        if unaccounted:
            raise RuntimeError(f'{self.kind} converter: {len(unaccounted)} tensors of '
                               f'{self.source} were neither mapped nor dropped: '
                               f'{unaccounted[:10]}')
        return self.output

    def check_against(self, model: nn.Module, config: str) -> None:
        """Compare with ``model`` (built from ``config``): shapes must agree; list missing keys.

        Raises:
            ValueError: A converted tensor has another shape in the model, or is not a tensor of
                the model at all (the config does not describe this checkpoint).
        """
        own = {k: v for k, v in model.state_dict().items()
               if not k.startswith('data_preprocessor.')}
        unknown = sorted(set(self.output) - set(own))
        if unknown:
            raise ValueError(f'{self.kind}: {len(unknown)} converted tensors have no place in the '
                             f'model of {config}, e.g. {unknown[:6]}; is it the config for this '
                             'checkpoint (depth, fusion layers, final norms, fc_norm)?')
        wrong = [f'{k}: converted {tuple(v.shape)} vs model {tuple(own[k].shape)}'
                 for k, v in self.output.items() if tuple(v.shape) != tuple(own[k].shape)]
        if wrong:
            raise ValueError(f'{self.kind}: shape mismatch against the model of {config}:\n  ' +
                             '\n  '.join(wrong[:20]))
        self.missing = sorted(set(own) - set(self.output))

    # ------------------------------------------------------------------ printing
    @staticmethod
    def _pattern(key: str) -> str:
        return re.sub(r'\.\d+\.', '.N.', key)

    def summary(self) -> str:
        lines = [f'{self.kind}: {self.source}',
                 f'  mapped:  {len(self.mapped)} tensors']
        groups: 'OrderedDict[str, List[str]]' = OrderedDict()
        for new, src in self.mapped.items():
            groups.setdefault(f'{self._pattern(src)} -> {self._pattern(new)}', []).append(new)
        for pattern, keys in groups.items():
            lines.append(f'    {pattern}' + (f'  [x{len(keys)}]' if len(keys) > 1 else ''))
        lines.append(f'  dropped: {len(self.dropped)} tensors')
        by_reason: 'OrderedDict[str, List[str]]' = OrderedDict()
        for key, reason in self.dropped.items():
            by_reason.setdefault(reason, []).append(key)
        for reason, keys in by_reason.items():
            shown = sorted({self._pattern(k) for k in keys})
            lines.append(f'    {len(keys)} x {", ".join(shown[:6])}'
                         f'{" ..." if len(shown) > 6 else ""}: {reason}')
        lines.append(f'  missing: {len(self.missing)} tensors of the target model (kept as '
                     'initialised)')
        by_module: 'OrderedDict[str, int]' = OrderedDict()
        for key in self.missing:
            top = key.split('.')[0]
            by_module[top] = by_module.get(top, 0) + 1
        for top, count in by_module.items():
            lines.append(f'    {top}.*: {count}')
        for text in self.notes:
            lines.append(f'  note: {text}')
        return '\n'.join(lines)

    def as_dict(self) -> dict:
        return dict(kind=self.kind, source=self.source, mapped=dict(self.mapped),
                    dropped=dict(self.dropped), missing=list(self.missing),
                    notes=list(self.notes))


def read_state_dict(path: str) -> Dict[str, torch.Tensor]:
    """The tensors of a released checkpoint (read with
    :func:`mavilkit.models.utils.checkpoint.load_state_dict`: under ``model``, ``state_dict`` or
    ``module``, or the top level, ``module.`` removed); non-tensor entries are left out.

    Raises:
        FileNotFoundError: No such file.
        NotThisKindError: The file holds no state dict of tensors.
    """
    from .checkpoint import CheckpointMismatchError, load_state_dict
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint {path} not found')
    try:
        state = load_state_dict(path)
    except CheckpointMismatchError as error:
        raise NotThisKindError(str(error)) from error
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}


def require(state: Dict[str, torch.Tensor], keys: Iterable[str], kind: str, path: str,
            hint: str = '') -> None:
    """Raise :class:`NotThisKindError` naming ``path`` if any of ``keys`` is absent."""
    absent = [k for k in keys if k not in state]
    if absent:
        tops = sorted({k.split('.')[0] for k in state})
        raise NotThisKindError(
            f'{path} is not a {kind} checkpoint: it lacks {absent[:4]}; its top-level names are '
            f'{tops[:16]}.' + (f' {hint}' if hint else ''))


def block_indices(state: Dict[str, torch.Tensor], prefix: str) -> List[int]:
    """Sorted block numbers ``i`` of the keys ``{prefix}.{i}.*``."""
    pat = re.compile(re.escape(prefix) + r'\.(\d+)\.')
    return sorted({int(m.group(1)) for k in state for m in [pat.match(k)] if m})


def build_model_on_meta(config: str) -> nn.Module:
    """The model of a config file, built on the meta device (no memory, no initialisation)."""
    from mmengine.config import Config

    from mavilkit.registry import MODELS
    from mavilkit.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    model_cfg = dict(cfg.model)
    model_cfg.pop('init_cfg', None)
    with torch.device('meta'):
        return MODELS.build(model_cfg)


def save_converted(state: Dict[str, torch.Tensor], out: str, report: ConversionReport) -> None:
    """Write ``dict(state_dict=..., meta=dict(converted_from=..., kind=...))``."""
    folder = osp.dirname(osp.abspath(out))
    os.makedirs(folder, exist_ok=True)
    torch.save(dict(state_dict=dict(state),
                    meta=dict(converted_from=osp.basename(report.source), kind=report.kind)),
               out)


def run_converter(convert_fn, argv: Optional[List[str]], description: str,
                  default_config, extra_args=None) -> Tuple[ConversionReport, str]:
    """The command line shared by the converters: ``SRC DST [--config CFG] [extra]``.

    ``convert_fn(state, path, args)`` returns the :class:`ConversionReport`; ``args.model`` is
    the model of ``--config``, built on the meta device, against which the result is checked
    before it is written.
    ``default_config`` is a path, or ``f(state, args) -> path`` when it depends on the file.
    """
    import argparse
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='the released checkpoint')
    parser.add_argument('dst', help='where to write the mavilkit checkpoint')
    parser.add_argument('--config', default=None,
                        help='mavilkit config whose model loads the result (shapes are checked '
                        'and missing tensors listed against it); default: the config for the '
                        'kind of file (see the docstring)')
    if extra_args is not None:
        extra_args(parser)
    args = parser.parse_args(argv)
    state = read_state_dict(args.src)
    if args.config is None:
        args.config = default_config(state, args) if callable(default_config) else default_config
        # The shipped defaults are repository paths: found from any working directory.
        if not osp.isabs(args.config) and not osp.isfile(args.config):
            repo = osp.dirname(osp.dirname(osp.abspath(str(__import__('mavilkit').__file__))))
            args.config = osp.join(repo, args.config)
    # Built first: some mappings depend on the target (e.g. the grid a position code goes to).
    args.model = build_model_on_meta(args.config)
    report = convert_fn(state, args.src, args)
    converted = report.finish()
    report.check_against(args.model, args.config)
    save_converted(converted, args.dst, report)
    print(report.summary())
    print(f'wrote {args.dst} ({len(converted)} tensors); load it with {args.config}')
    return report, args.config


#: Parameters of a timm / MAE ``Block`` that mavilkit's ``TransformerBlock`` has under the same
#: names (pre-norm ViT block: ``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``, ``mlp.fc1/fc2``).
BLOCK_PARAMS = tuple(f'{m}.{p}' for m in ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1',
                                          'mlp.fc2') for p in ('weight', 'bias'))


def map_blocks(report: ConversionReport, state: Dict[str, torch.Tensor], src: str, dst: str,
               rename: Optional[Dict[str, str]] = None,
               indices: Optional[Sequence[int]] = None, offset: int = 0) -> int:
    """Map the ViT blocks ``{src}.{i}.*`` onto ``{dst}.{i + offset}.*``.

    ``rename`` maps a source parameter name within a block onto a mavilkit one (e.g. CAV-MAE's
    shared block keeps the joint path's ``norm1`` and drops ``norm1_a``). Parameters outside
    :data:`BLOCK_PARAMS` (after renaming) raise, since mavilkit's block would not compute the
    same function without them.

    Returns:
        int: The number of blocks mapped.
    """
    rename = rename or {}
    indices = block_indices(state, src) if indices is None else list(indices)
    for i in indices:
        head = f'{src}.{i}.'
        for key in [k for k in state if k.startswith(head)]:
            name = key[len(head):]
            if key in report.dropped:
                continue
            name = rename.get(name, name)
            if name not in BLOCK_PARAMS:
                raise NotThisKindError(
                    f'{report.source}: block parameter {key} has no counterpart in mavilkit\'s '
                    f'pre-norm ViT block ({", ".join(BLOCK_PARAMS[::2])} weights and biases); '
                    'this block type is not supported')
            report.map(f'{dst}.{i + offset}.{name}', key)
    return len(indices)


def resize_grid_pos_embed(pos_embed: torch.Tensor, old_grid: Sequence[int],
                          new_grid: Sequence[int]) -> torch.Tensor:
    """A 2-D grid position code with a CLS row moved onto another grid: ``(1, 1 + h·w, D)`` ->
    ``(1, 1 + H·W, D)``, bicubic (:func:`~mavilkit.models.utils.checkpoint.adapt_pos_embed`,
    ``mode='interpolate'``), as DeiT / Audio-MAE adapt an image model's code to another grid.
    """
    from .checkpoint import adapt_pos_embed
    return adapt_pos_embed(pos_embed, old_grid, new_grid, mode='interpolate',
                           source='the converted checkpoint')
