from .base import BaseTargetGenerator, build_teacher
from .ema import EMATarget
from .mavil_fusion import MAViLFusionTarget
from .mavil_uni import MAViLUniTarget
from .raw import RawTarget
from .uni_mae import UniMAETarget

__all__ = [
    'BaseTargetGenerator', 'build_teacher', 'RawTarget', 'MAViLFusionTarget', 'MAViLUniTarget',
    'UniMAETarget', 'EMATarget'
]
