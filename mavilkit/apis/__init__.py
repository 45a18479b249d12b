from .cfg_options import merge_cfg_options
from .inference import (InferenceInputError, extract_features, inference_classifier, init_model,
                        prepare_inputs, retrieve)
from .train import RNG_STATE_HOOK, accumulated_auto_scale_lr, build_runner, default_work_dir

__all__ = [
    'RNG_STATE_HOOK', 'accumulated_auto_scale_lr', 'build_runner', 'default_work_dir',
    'init_model', 'extract_features', 'inference_classifier', 'retrieve', 'prepare_inputs',
    'InferenceInputError', 'merge_cfg_options'
]
