"""Check ``--cfg-options`` overrides before merging them into a config.

mmengine's ``Config.merge_from_dict`` accepts any key. Two kinds of key then do nothing and say
nothing: a misspelt or invented top-level key (``max_epochs=1`` instead of
``train_cfg.max_epochs=1``), and a config *variable* such as ``data_root`` or ``pretrained``,
whose value was already substituted into the fields that use it when the config file was parsed
(the dumped config shows the new value, the run uses the old one). :func:`merge_cfg_options`
refuses both with the key named and the fields to override instead.
"""
import difflib
import inspect
from typing import Iterable, Iterator, List, Optional, Tuple

from mmengine.config import Config

# Top-level keys read from the config outside the Runner constructors' arguments: mmengine's
# ``build_runner_from_cfg`` (runner_type), ``Runner.wrap_model`` (model_wrapper_cfg) and
# mavilkit's ``build_runner`` (thread_budget, mavilkit/utils/threads.py).
_READ_OUTSIDE_SIGNATURE = ('runner_type', 'model_wrapper_cfg', 'thread_budget')


def runner_keys() -> set:
    """Top-level config keys the Runner reads: the arguments of ``Runner.__init__`` and
    ``FlexibleRunner.__init__`` (from their signatures), plus the few keys read elsewhere."""
    from mmengine.runner import FlexibleRunner, Runner
    keys = set(_READ_OUTSIDE_SIGNATURE)
    for cls in (Runner, FlexibleRunner):
        keys.update(inspect.signature(cls.__init__).parameters)
    return keys - {'self', 'cfg'}


def _leaves(value, prefix: str) -> Iterator[Tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f'{prefix}.{key}')
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _leaves(item, f'{prefix}.{i}')
    else:
        yield prefix, value


def _runner_leaves(cfg: Config) -> Iterator[Tuple[str, object]]:
    """(dotted path, value) of every leaf under the config's Runner keys."""
    for top in sorted(runner_keys() & set(cfg.keys())):
        yield from _leaves(cfg[top], top)


def fields_using(cfg: Config, name: str) -> List[str]:
    """Dotted paths of the fields (under the Runner's keys) that hold the value of the config
    variable ``name``, i.e. the fields it was most likely substituted into.

    Values compare equal with the same type (so ``1`` does not match ``True``). A number matches
    too many unrelated fields to be a useful hint: for non-strings only fields of the same leaf
    name are returned.
    """
    value = cfg[name]
    if isinstance(value, (list, tuple)):
        return []
    found = [path for path, leaf in _runner_leaves(cfg)
             if type(leaf) is type(value) and leaf == value]
    same_name = [p for p in found if p.rsplit('.', 1)[-1] == name]
    return same_name if (same_name or not isinstance(value, str)) else found


def check_cfg_options(cfg: Config, options: dict, readable: Iterable[str] = ()) -> None:
    """Refuse ``options`` keys that would be merged into ``cfg`` without any effect.

    Args:
        cfg (Config): The parsed config.
        options (dict): ``{dotted.key: value}`` as given by ``--cfg-options`` (mmengine
            ``DictAction``).
        readable (Iterable[str]): Further top-level keys the caller reads from the config
            (e.g. ``test_pipeline`` for inference).

    Raises:
        ValueError: A key whose first component is neither in the config nor a Runner key
            (with a "did you mean" suggestion), or one whose first component is a plain config
            variable (a non-dict value that no Runner reads), with the fields to override
            instead.
    """
    allowed = runner_keys() | set(readable)
    source = cfg.filename or 'a Config object'
    for key in options:
        top = str(key).split('.', 1)[0]
        if top in allowed:
            continue
        if top not in cfg:
            # a nested field of that name (max_epochs -> train_cfg.max_epochs), else a
            # top-level key of a similar spelling
            close = [path for path, _ in _runner_leaves(cfg) if path.rsplit('.', 1)[-1] == top][:5]
            close = close or difflib.get_close_matches(top, sorted(allowed | set(cfg.keys())), n=3)
            hint = f'; did you mean {" / ".join(close)}?' if close else ''
            raise ValueError(
                f'--cfg-options {key}: {top!r} is not a key of the config ({source}) nor '
                f'an argument of the mmengine Runner, so it would have no effect{hint}')
        if not isinstance(cfg[top], dict):
            fields = fields_using(cfg, top)
            if fields:
                instead = 'override the field(s) that use it instead: ' + ', '.join(
                    f'{path}=...' for path in fields)
            else:
                # not "inherit and redefine it": a child config's variable does not reach
                # the fields its _base_ files already built
                instead = (f'no field holds its value as is; edit {top} in the config file that '
                           'defines it (or a copy), or override the fields built from it')
            raise ValueError(
                f'--cfg-options {key}: {top!r} is a config variable, substituted into the fields '
                f'that use it when the config ({source}) was parsed; changing it now has no '
                f'effect on the run; {instead}')


def merge_cfg_options(cfg: Config,
                      options: Optional[dict],
                      readable: Iterable[str] = ()) -> Config:
    """Check ``options`` with :func:`check_cfg_options`, then merge them into ``cfg`` (mmengine
    ``Config.merge_from_dict``: dotted keys, list indices as ``pipeline.2.num_clips``).

    Returns:
        Config: ``cfg`` itself, updated in place.

    Raises:
        ValueError: See :func:`check_cfg_options`.
    """
    if options:
        check_cfg_options(cfg, options, readable)
        cfg.merge_from_dict(options)
    return cfg
