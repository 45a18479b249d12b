"""mavilkit: self-supervised audio-video learning (MAViL and beyond) on mmengine."""
from .version import __version__

__all__ = ['__version__']
