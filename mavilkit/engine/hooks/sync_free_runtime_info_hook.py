"""mmengine's RuntimeInfoHook without a host-device synchronisation every training iteration."""
from typing import Dict, List, Optional

import torch
from mmengine.hooks import LoggerHook, RuntimeInfoHook

from mavilkit.registry import HOOKS


@HOOKS.register_module()
class SyncFreeRuntimeInfoHook(RuntimeInfoHook):
    """``RuntimeInfoHook`` that turns the logged loss tensors into numbers in batches.

    mmengine's hook writes every entry of the model's ``log_vars`` (``loss``, ``loss_rec_audio``,
    ``acc_inter``, ...) into the message hub after *every* iteration, through ``Tensor.item()``:
    one host-device synchronisation per entry and step, which stalls the CPU until the GPU has
    finished the step, so it cannot queue the next one. This hook keeps the detached tensors on
    the device and copies them all to the host in one transfer every ``interval`` iterations
    (by default the ``LoggerHook``'s interval, so the logger always reads complete histories),
    at the end of each epoch and of training, and before a checkpoint is written. The message
    hub ends up with exactly the values, in the same order, that ``RuntimeInfoHook`` writes.

    Use it in place of the default hook::

        default_hooks = dict(runtime_info=dict(type='SyncFreeRuntimeInfoHook'))

    Args:
        interval (int, optional): Iterations between two transfers. Defaults to the
            ``LoggerHook``'s ``interval`` (50 when there is none).
    """

    def __init__(self, interval: Optional[int] = None) -> None:
        if interval is not None and interval < 1:
            raise ValueError(f'SyncFreeRuntimeInfoHook: interval must be >= 1, got {interval}')
        self.interval = interval
        self._pending: List[Dict[str, object]] = []

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if self.interval is None:
            loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
            self.interval = loggers[0].interval if loggers else 50

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if outputs is not None:
            for key, value in outputs.items():
                if isinstance(value, torch.Tensor) and value.numel() != 1:
                    raise ValueError(f'SyncFreeRuntimeInfoHook: log variable {key!r} has '
                                     f'{value.numel()} elements; a logged value must be a scalar')
            self._pending.append({k: v.detach() if isinstance(v, torch.Tensor) else v
                                  for k, v in outputs.items()})
        if (self.every_n_inner_iters(batch_idx, self.interval)
                or self.every_n_train_iters(runner, self.interval)
                or self.end_of_epoch(runner.train_dataloader, batch_idx)
                or self.is_last_train_iter(runner)):
            self.flush(runner)

    def after_train_epoch(self, runner) -> None:
        self.flush(runner)

    def after_train(self, runner) -> None:
        self.flush(runner)
        super().after_train(runner)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # The Runner takes the message hub's state before calling this hook: refresh it.
        if self._pending:
            self.flush(runner)
            if 'message_hub' in checkpoint:
                checkpoint['message_hub'] = runner.message_hub.state_dict()

    def flush(self, runner) -> None:
        """Write the pending values into the message hub with one device-to-host copy."""
        if not self._pending:
            return
        # float64 holds every float32/bf16 value and every integer below 2**53 exactly.
        tensors = [v.double().reshape(()) for rec in self._pending for v in rec.values()
                   if isinstance(v, torch.Tensor)]
        numbers = iter(torch.stack(tensors).tolist() if tensors else [])
        for rec in self._pending:
            for key, value in rec.items():
                if isinstance(value, torch.Tensor):
                    number = next(numbers)
                    value = number if value.is_floating_point() else int(number)
                runner.message_hub.update_scalar(f'train/{key}', value)
        self._pending = []
