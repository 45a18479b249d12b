from . import (backbones, classifiers, data_preprocessors, heads, losses, necks,  # noqa: F401
               retrievers, selfsup, target_generators, utils)
from .backbones import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .selfsup import *  # noqa: F401,F403
from .target_generators import *  # noqa: F401,F403
