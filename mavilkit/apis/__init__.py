from .train import RNG_STATE_HOOK, accumulated_auto_scale_lr, build_runner, default_work_dir

__all__ = ['RNG_STATE_HOOK', 'accumulated_auto_scale_lr', 'build_runner', 'default_work_dir']
