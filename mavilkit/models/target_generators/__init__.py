from .raw import RawTarget

__all__ = ['RawTarget']
from .base import BaseTargetGenerator, build_teacher  # noqa: E402
from .ema import EMATarget  # noqa: E402
from .mavil_fusion import MAViLFusionTarget  # noqa: E402
from .mavil_uni import MAViLUniTarget  # noqa: E402
from .uni_mae import UniMAETarget  # noqa: E402

__all__ += [
    'BaseTargetGenerator', 'build_teacher', 'MAViLFusionTarget', 'MAViLUniTarget',
    'UniMAETarget', 'EMATarget'
]
