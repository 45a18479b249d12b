"""Workarounds for mmengine 0.10.7 on today's PyTorch and Python.

Every function here exists because of one concrete incompatibility; each has a test in
``tests/test_utils/test_compat.py``.

1. ``torch.load`` defaults to ``weights_only=True`` since torch 2.6, and mmengine's training
   checkpoints pickle its own objects (``HistoryBuffer`` in the message hub), so ``resume`` and
   ``load_from`` fail with "Weights only load failed". :func:`register_checkpoint_loader` replaces
   mmengine's local-file loader: foreign weight files are still loaded weights-only; a file is
   unpickled in full only when it is *our own* (see :func:`is_trusted_checkpoint`). The same
   reader is what :func:`mavilkit.models.utils.checkpoint.load_state_dict` uses for local files;
   ``register_all_modules`` registers it once at start-up.
2. mmengine's ``init_dist`` always calls ``torch.cuda.set_device``, which fails on CPU-only
   machines. :func:`init_distributed` initialises a ``gloo`` group itself when CUDA is missing
   (``nccl`` on GPUs) and :func:`cpu_ddp_wrapper_cfg` gives a DDP wrapper without device ids.
3. mmengine 0.10.7 mis-detects a plain Python config as a *lazy* config on Python 3.11 when an
   ``import`` statement precedes ``_base_``. :func:`check_config_layout` enforces that ``_base_``
   is the first statement (a test runs it over every file under ``configs/``).
"""
import ast
import os
import os.path as osp
import pickle
import subprocess
from typing import List, Optional

import torch
import torch.distributed as torch_dist
from mmengine.runner.checkpoint import CheckpointLoader

_TRUSTED_ROOTS: List[str] = []
# The last local checkpoint read and its state-dict keys, so that a whole-model check done inside
# ``load_state_dict`` (which sees only tensors) can name the file mmengine read them from.
_LAST_READ: dict = dict(filename=None, keys=frozenset())
TRUSTED_ENV = 'MAVILKIT_TRUSTED_CKPT_DIRS'


# --------------------------------------------------------------------------- checkpoints
def add_trusted_root(path: str) -> None:
    """Declare a folder whose checkpoints were written by our own runs (e.g. a work dir)."""
    path = osp.realpath(osp.expanduser(path))
    if path not in _TRUSTED_ROOTS:
        _TRUSTED_ROOTS.append(path)


def is_trusted_checkpoint(filename: str) -> bool:
    """Whether ``filename`` is one of our own training checkpoints.

    A checkpoint is trusted when it lies under a folder declared with :func:`add_trusted_root`
    (``tools/train.py`` declares the work dir and the ``--resume`` file; ``tools/test.py`` the
    checkpoint given on the command line), under a folder listed in ``$MAVILKIT_TRUSTED_CKPT_DIRS``
    (``os.pathsep``-separated), or next to the ``last_checkpoint`` marker that mmengine's
    ``CheckpointHook`` writes into every work dir.
    """
    real = osp.realpath(osp.expanduser(filename))
    roots = list(_TRUSTED_ROOTS)
    roots += [osp.realpath(p) for p in os.environ.get(TRUSTED_ENV, '').split(os.pathsep) if p]
    if any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in roots):
        return True
    return osp.isfile(osp.join(osp.dirname(real), 'last_checkpoint'))


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint: weights-only first, in full only for our own checkpoints."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    try:
        return _remember(filename, torch.load(filename, map_location=map_location,
                                              weights_only=True))
    except pickle.UnpicklingError as weights_only_error:
        if not is_trusted_checkpoint(filename):
            raise RuntimeError(
                f'{filename} holds Python objects besides tensors, and it is not a checkpoint of '
                'our own runs, so it is not unpickled (that could run arbitrary code). If you '
                f'trust it, add its folder to ${TRUSTED_ENV}.') from weights_only_error
    except RuntimeError as error:
        raise RuntimeError(f'Cannot read checkpoint {filename}: {error}') from error
    return _remember(filename, torch.load(filename, map_location=map_location,
                                          weights_only=False))


def _remember(filename: str, checkpoint):
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    keys = frozenset(k[len('module.'):] if k.startswith('module.') else k
                     for k in state) if isinstance(state, dict) else frozenset()
    _LAST_READ.update(filename=filename, keys=keys)
    return checkpoint


def checkpoint_file_of(state_dict) -> Optional[str]:
    """The local file :func:`load_local_checkpoint` last read, if ``state_dict`` is its content.

    Matched by the set of keys (``module.`` stripped, as mmengine's ``load_checkpoint`` does);
    ``None`` when the keys differ (e.g. a state dict built in memory).
    """
    if _LAST_READ['filename'] is not None and frozenset(state_dict) == _LAST_READ['keys']:
        return _LAST_READ['filename']
    return None


def register_checkpoint_loader() -> None:
    """Make mmengine's ``CheckpointLoader`` use :func:`load_local_checkpoint` for local paths."""
    CheckpointLoader.register_scheme(prefixes='', force=True)(load_local_checkpoint)


# --------------------------------------------------------------------------- distributed
def default_dist_backend() -> str:
    """``nccl`` when CUDA is usable, ``gloo`` otherwise."""
    return 'nccl' if torch.cuda.is_available() else 'gloo'


def resolve_dist_cfg(env_cfg: dict) -> dict:
    """Replace ``dist_cfg.backend='auto'`` (our default runtime) by the backend for this machine."""
    dist_cfg = dict(env_cfg.get('dist_cfg', {}) or {})
    if dist_cfg.get('backend', 'auto') == 'auto':
        dist_cfg['backend'] = default_dist_backend()
    env_cfg['dist_cfg'] = dist_cfg
    return env_cfg


def _slurm_env_to_torch_env(port: Optional[int] = None) -> None:
    """Translate SLURM's variables into the ``env://`` variables torch expects."""
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    if port is not None:
        os.environ['MASTER_PORT'] = str(port)
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        os.environ['MASTER_ADDR'] = subprocess.getoutput(
            f'scontrol show hostname {nodes} | head -n1')


def init_distributed(launcher: str, backend: str = 'auto', **kwargs) -> bool:
    """Initialise the default process group for ``launcher`` ('pytorch' or 'slurm').

    On GPUs this defers to mmengine's ``init_dist`` with ``nccl``; without CUDA it sets up
    ``gloo`` itself, since mmengine would call ``torch.cuda.set_device``. Returns whether a group
    was initialised by this call.
    """
    if launcher == 'none' or torch_dist.is_initialized():
        return False
    if backend == 'auto':
        backend = default_dist_backend()
    if torch.cuda.is_available() and backend == 'nccl':
        from mmengine.dist import init_dist
        init_dist(launcher, backend=backend, **kwargs)
        return True
    if launcher == 'slurm':
        _slurm_env_to_torch_env(kwargs.pop('port', None))
    elif launcher != 'pytorch':
        raise ValueError(f'Unsupported launcher {launcher!r} for CPU runs: use pytorch or slurm')
    kwargs.pop('port', None)
    timeout = kwargs.pop('timeout', None)
    if timeout is not None:
        import datetime
        kwargs['timeout'] = datetime.timedelta(seconds=timeout)
    torch_dist.init_process_group(backend='gloo', **kwargs)
    return True


def destroy_distributed() -> None:
    """Destroy the default process group (torchrun reports a crash when it is left open)."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def cpu_ddp_wrapper_cfg() -> dict:
    """DDP wrapper config for CPU processes: no device ids, no buffer broadcast."""
    return dict(type='MMDistributedDataParallel', device_ids=None, broadcast_buffers=False)


# --------------------------------------------------------------------------- configs
def check_config_layout(path: str) -> None:
    """Raise ``ValueError`` when a config's first statement is an import before ``_base_``.

    mmengine 0.10.7 on Python 3.11 treats a config whose ``_base_`` follows an import as a lazy
    config and then fails with an unrelated error. A config without ``_base_`` is fine.
    """
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), filename=path)
    body = [n for n in tree.body if not (isinstance(n, ast.Expr)
                                         and isinstance(getattr(n, 'value', None), ast.Constant))]
    base_index = None
    for i, node in enumerate(body):
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == '_base_' for t in targets):
            base_index = i
            break
    if base_index is None:
        return
    if base_index != 0:
        first = body[0]
        raise ValueError(
            f'{path}: `_base_` must be the first statement (found line {first.lineno} before it: '
            f'{ast.unparse(first)[:60]!r}); mmengine 0.10.7 mis-reads such configs on Python 3.11.')
