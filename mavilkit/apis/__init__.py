from .train import RNG_STATE_HOOK, build_runner, default_work_dir

__all__ = ['RNG_STATE_HOOK', 'build_runner', 'default_work_dir']
