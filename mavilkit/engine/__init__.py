from . import hooks, optimizers  # noqa: F401
from .worker_init import av_worker_init_fn

__all__ = ['av_worker_init_fn']
