from .mavil import MAViL

__all__ = ['MAViL']
