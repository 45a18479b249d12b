"""Drawing MAViL's reconstructions (Fig. 3): original, masked and reconstructed spectrograms and
video frames.

The functions here only draw: they take what :meth:`mavilkit.models.MAViL.reconstruct` returns
(per modality ``original``, ``reconstruction`` and ``mask``, each in the input layout) and make
images. ``ReconstructionVisualizationHook`` writes them during training; an offline tool can
draw the same panels (:func:`reconstruction_panels`) with axes of its own.
"""
from typing import Any, Dict, Mapping, NamedTuple, Sequence

import numpy as np
import torch

# A 9-point approximation of matplotlib's "viridis", interpolated linearly (no matplotlib needed).
_VIRIDIS = np.array([[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                     [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]],
                    dtype=np.float32)
#: ImageNet mean and std of 0–255 frames, which ``AVDataPreprocessor`` subtracts / divides by.
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
#: Grey of masked-out patches.
MASK_GREY = 128


class Panels(NamedTuple):
    """One clip of one modality, ready to show: the three rows of Fig. 3.

    Audio: ``(T, F)`` float32 spectrograms (time frames × mel bins), NaN where a patch was
    removed (``masked`` only). Video: ``(T, H, W, 3)`` uint8 frames, ImageNet normalisation
    undone, removed patches grey.
    """
    original: np.ndarray
    masked: np.ndarray
    reconstruction: np.ndarray


def colorize(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map a 2-D array to RGB uint8 with the viridis colour map over ``[vmin, vmax]``."""
    scaled = np.clip((values - vmin) / max(vmax - vmin, 1e-8), 0, 1) * (len(_VIRIDIS) - 1)
    low = np.floor(scaled).astype(np.int64).clip(max=len(_VIRIDIS) - 2)
    frac = (scaled - low)[..., None]
    return ((1 - frac) * _VIRIDIS[low] + frac * _VIRIDIS[low + 1]).round().astype(np.uint8)


def denormalize_frames(clip: torch.Tensor, mean: Sequence[float] = IMAGENET_MEAN,
                       std: Sequence[float] = IMAGENET_STD) -> np.ndarray:
    """``(C, T, H, W)`` normalised frames -> ``(T, H, W, C)`` uint8; NaN (masked) -> grey."""
    clip = clip.detach().float().cpu()
    nan = torch.isnan(clip)
    mean_t = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1)
    clip = (clip * std_t + mean_t).clamp(0, 255).masked_fill(nan, float(MASK_GREY))
    return clip.permute(1, 2, 3, 0).round().to(torch.uint8).numpy()


def reconstruction_panels(rec, index: int, modality: str, paste_visible: bool = False,
                          video_mean: Sequence[float] = IMAGENET_MEAN,
                          video_std: Sequence[float] = IMAGENET_STD) -> Panels:
    """The three rows of Fig. 3 for clip ``index`` of one modality.

    Args:
        rec: A :class:`~mavilkit.models.selfsup.mavil.Reconstruction` (``original``,
            ``reconstruction``, ``mask``: ``(B, 1, T, F)`` for audio, ``(B, C, T, H, W)`` for
            video).
        index (int): The clip in the batch.
        modality (str): ``'audio'`` or ``'video'``.
        paste_visible (bool): Show the original at the visible patches of the reconstruction
            row (MAE's "reconstruction + visible", as in Fig. 3).
        video_mean (Sequence[float]): Per-channel mean subtracted from the 0–255 frames.
        video_std (Sequence[float]): Per-channel std the frames were divided by.

    Raises:
        ValueError: ``modality`` is neither ``'audio'`` nor ``'video'``.
    """
    original = rec.original[index].detach().float().cpu()
    recon = rec.reconstruction[index].detach().float().cpu()
    removed = rec.mask[index].detach().bool().cpu()
    masked = original.masked_fill(removed, float('nan'))
    if paste_visible:
        recon = torch.where(removed, recon, original)
    if modality == 'audio':  # (1, T, F) -> (T, F)
        return Panels(original[0].numpy(), masked[0].numpy(), recon[0].numpy())
    if modality == 'video':
        return Panels(*(denormalize_frames(x, video_mean, video_std)
                        for x in (original, masked, recon)))
    raise ValueError(f"reconstruction_panels: modality must be 'audio' or 'video', got "
                     f'{modality!r}')


def spectrogram_rows(original: np.ndarray, masked: np.ndarray, reconstruction: np.ndarray,
                     separator: int = 4) -> np.ndarray:
    """Stack three ``(T, F)`` spectrograms as rows of an RGB image (time → right, low
    frequencies at the bottom), sharing the original's colour range; masked-out bins (NaN in
    ``masked``) are grey."""
    vmin, vmax = float(original.min()), float(original.max())
    rows = []
    for spec in (original, masked, reconstruction):
        img = colorize(np.nan_to_num(spec.T[::-1], nan=vmin), vmin, vmax)
        img[np.isnan(spec.T[::-1])] = MASK_GREY
        rows.append(img)
    return _stack(rows, separator)


def video_rows(original: np.ndarray, masked: np.ndarray, reconstruction: np.ndarray,
               separator: int = 4) -> np.ndarray:
    """Three rows of frames side by side from ``(T, H, W, 3)`` uint8 clips."""
    rows = [_stack(list(clip), separator, axis=1) for clip in (original, masked, reconstruction)]
    return _stack(rows, separator)


def reconstruction_images(recs: Mapping[str, Any], paste_visible: bool = False,
                          video_mean: Sequence[float] = IMAGENET_MEAN,
                          video_std: Sequence[float] = IMAGENET_STD) -> Dict[str, np.ndarray]:
    """One RGB uint8 image per clip and modality, ``{'audio_0': ..., 'video_0': ..., ...}``.

    Each image has three rows separated by white lines: original, masked (removed patches
    grey), reconstruction. Audio: spectrogram, time to the right, low frequencies at the
    bottom, viridis over the original's range; video: the frames side by side.

    Args:
        recs (Mapping): ``MAViL.reconstruct``'s output, ``{'audio': Reconstruction, ...}``.
        paste_visible (bool): See :func:`reconstruction_panels`.
        video_mean, video_std: See :func:`reconstruction_panels`.
    """
    images = {}
    for modality, rec in recs.items():
        rows = spectrogram_rows if modality == 'audio' else video_rows
        for k in range(rec.original.shape[0]):
            images[f'{modality}_{k}'] = rows(*reconstruction_panels(
                rec, k, modality, paste_visible, video_mean, video_std))
    return images


def _stack(images: Sequence[np.ndarray], separator: int, axis: int = 0) -> np.ndarray:
    parts = []
    for i, img in enumerate(images):
        if i:
            gap_shape = list(img.shape)
            gap_shape[axis] = separator
            parts.append(np.full(gap_shape, 255, dtype=np.uint8))
        parts.append(img)
    return np.concatenate(parts, axis=axis)
