from .reconstruction import (IMAGENET_MEAN, IMAGENET_STD, MASK_GREY, Panels, colorize,
                             denormalize_frames, reconstruction_images, reconstruction_panels,
                             spectrogram_rows, video_rows)

__all__ = [
    'IMAGENET_MEAN', 'IMAGENET_STD', 'MASK_GREY', 'Panels', 'colorize', 'denormalize_frames',
    'reconstruction_images', 'reconstruction_panels', 'spectrogram_rows', 'video_rows'
]
