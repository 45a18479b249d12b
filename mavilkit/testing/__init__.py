from .demo_clips import CLASSES, make_demo_dataset, render_clip, write_mp4

__all__ = ['CLASSES', 'make_demo_dataset', 'render_clip', 'write_mp4']
