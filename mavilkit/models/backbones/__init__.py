from .audio_vit import AudioViT
from .video_vit import VideoViT

__all__ = ['AudioViT', 'VideoViT']
