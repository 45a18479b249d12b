from .cls_head import AVClsHead

__all__ = ['AVClsHead']
