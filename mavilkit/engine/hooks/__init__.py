from .bad_media_hook import BadMediaHook  # noqa: F401
from .reconstruction_visualization_hook import ReconstructionVisualizationHook  # noqa: F401
from .rng_state_hook import RNGStateHook  # noqa: F401
from .sync_free_runtime_info_hook import SyncFreeRuntimeInfoHook  # noqa: F401
