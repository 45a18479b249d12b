from . import hooks, optimizers  # noqa: F401
from .worker_init import av_worker_init_fn, set_loader_epoch, sync_worker_rng_to_epoch

__all__ = ['av_worker_init_fn', 'set_loader_epoch', 'sync_worker_rng_to_epoch']
