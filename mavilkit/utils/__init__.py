from .compat import (add_trusted_root, check_config_layout, cpu_ddp_wrapper_cfg,
                     default_dist_backend, destroy_distributed, init_distributed,
                     is_trusted_checkpoint, load_local_checkpoint, register_checkpoint_loader,
                     resolve_dist_cfg)
from .setup_env import register_all_modules

__all__ = [
    'add_trusted_root', 'check_config_layout', 'cpu_ddp_wrapper_cfg', 'default_dist_backend',
    'destroy_distributed', 'init_distributed', 'is_trusted_checkpoint', 'load_local_checkpoint',
    'register_checkpoint_loader', 'resolve_dist_cfg', 'register_all_modules'
]
