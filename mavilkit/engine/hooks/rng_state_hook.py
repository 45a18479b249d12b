"""Save and restore random-number-generator states so that a resumed run continues exactly."""
import random
from typing import List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from torch.utils.data import DataLoader

from mavilkit.registry import HOOKS
from ..worker_init import set_loader_epoch


def get_rng_state() -> dict:
    """The states of Python's, NumPy's and torch's generators on this process."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state['cuda'].cpu())


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Store every rank's RNG states in checkpoints and restore them on resume.

    mmengine re-seeds a resumed run from the initial seed, so random masking, mixup and the
    dataloader's worker seeds would repeat the first iterations' draws instead of continuing.

    The rule that makes the continuation exact, with ``persistent_workers=True`` as well:

    - the main process's generators are saved at the checkpoint and restored on resume;
      nothing else draws from them between two epochs: validation runs between
      :meth:`before_val` and :meth:`after_val`, which restore the states, and the training
      loader's worker base seed comes from its own generator (set in :meth:`before_train`);
    - dataloader workers draw from generators seeded by ``(seed, epoch, rank, worker id)`` at
      the first sample of each epoch (:meth:`before_train_epoch` publishes the epoch, see
      :mod:`mavilkit.engine.worker_init`), never from what a persistent worker drew before.
    Saving happens only on rank 0 (``Runner.save_checkpoint`` is master-only), so the states of all
    ranks are gathered right before the :class:`CheckpointHook` saves (this hook runs first, at a
    higher priority) and written by rank 0; each rank restores its own state in ``before_train``,
    after the Runner finished resuming.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self._gathered: Optional[List[dict]] = None
        self._to_restore: Optional[dict] = None
        self._ckpt_hook: Optional[CheckpointHook] = None
        self._before_val_state: Optional[dict] = None

    def before_train(self, runner) -> None:
        self._ckpt_hook = next((h for h in runner.hooks if isinstance(h, CheckpointHook)), None)
        loader = runner.train_dataloader
        if isinstance(loader, DataLoader) and loader.generator is None:
            # torch draws a base seed for the workers whenever it creates an iterator: every
            # epoch without persistent workers, only at the first epoch *of the process* with
            # them, i.e. at a different place in an uninterrupted and in a resumed run. Drawn
            # from the global generator, it would shift the model's random draws (masking,
            # mixup) of a resumed run; workers are re-seeded per epoch instead
            # (av_worker_init_fn), so this seed does not matter and gets its own generator.
            loader.generator = torch.Generator().manual_seed(0)
        if self._to_restore is not None:
            set_rng_state(self._to_restore)
            runner.logger.info('Restored RNG states from the resumed checkpoint.')
            self._to_restore = None

    def before_train_epoch(self, runner) -> None:
        loader = runner.train_dataloader
        if isinstance(loader, DataLoader):
            set_loader_epoch(loader, runner.epoch)

    def before_val(self, runner) -> None:
        # Validation between epochs must not move the training draws: the resumed run, whose
        # states were saved before that validation, does not validate again.
        self._before_val_state = get_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val_state is not None:
            set_rng_state(self._before_val_state)
            self._before_val_state = None

    def _gather(self) -> None:
        state = get_rng_state()
        self._gathered = all_gather_object(state) if get_world_size() > 1 else [state]

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        hook = self._ckpt_hook
        if hook is None or hook.by_epoch:
            return
        if self.every_n_train_iters(runner, hook.interval) or \
                (hook.save_last and self.is_last_train_iter(runner)):
            self._gather()

    def after_train_epoch(self, runner) -> None:
        hook = self._ckpt_hook
        if hook is None or not hook.by_epoch:
            return
        if self.every_n_epochs(runner, hook.interval) or \
                (hook.save_last and self.is_last_train_epoch(runner)):
            self._gather()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered is not None:
            checkpoint['rng_states'] = self._gathered

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('rng_states')
        if not getattr(runner, '_resume', False) or not states:
            return
        rank = get_rank()
        if len(states) != get_world_size():
            runner.logger.warning(
                f'The checkpoint holds RNG states of {len(states)} processes but this run has '
                f'{get_world_size()}; random draws will not continue exactly.')
        self._to_restore = states[rank % len(states)]
