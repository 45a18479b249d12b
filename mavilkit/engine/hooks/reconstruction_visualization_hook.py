"""Original / masked / reconstructed spectrograms and video frames during pre-training (Fig. 3)."""
import os.path as osp
from typing import Dict, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mavilkit.registry import HOOKS

# A 9-point approximation of matplotlib's "viridis", interpolated linearly (no matplotlib needed).
_VIRIDIS = np.array([[68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
                     [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37]],
                    dtype=np.float32)
_IMAGENET_MEAN = (123.675, 116.28, 103.53)
_IMAGENET_STD = (58.395, 57.12, 57.375)


def colorize(values: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Map a 2-D array to RGB uint8 with the viridis colour map over ``[vmin, vmax]``."""
    scaled = np.clip((values - vmin) / max(vmax - vmin, 1e-8), 0, 1) * (len(_VIRIDIS) - 1)
    low = np.floor(scaled).astype(np.int64).clip(max=len(_VIRIDIS) - 2)
    frac = (scaled - low)[..., None]
    return ((1 - frac) * _VIRIDIS[low] + frac * _VIRIDIS[low + 1]).round().astype(np.uint8)


def spectrogram_rows(original: np.ndarray, masked: np.ndarray, reconstruction: np.ndarray,
                     separator: int = 4) -> np.ndarray:
    """Stack three ``(T, F)`` spectrograms as rows of an RGB image (time → right, low
    frequencies at the bottom), sharing the original's colour range; masked-out bins (NaN in
    ``masked``) are grey."""
    vmin, vmax = float(original.min()), float(original.max())
    rows = []
    for spec in (original, masked, reconstruction):
        img = colorize(np.nan_to_num(spec.T[::-1], nan=vmin), vmin, vmax)
        img[np.isnan(spec.T[::-1])] = 128
        rows.append(img)
    return _stack(rows, separator)


def video_rows(original: np.ndarray, masked: np.ndarray, reconstruction: np.ndarray,
               separator: int = 4) -> np.ndarray:
    """Three rows of frames side by side from ``(T, H, W, 3)`` uint8 clips."""
    rows = [_stack(list(clip), separator, axis=1) for clip in (original, masked, reconstruction)]
    return _stack(rows, separator)


def _stack(images: Sequence[np.ndarray], separator: int, axis: int = 0) -> np.ndarray:
    parts = []
    for i, img in enumerate(images):
        if i:
            gap_shape = list(img.shape)
            gap_shape[axis] = separator
            parts.append(np.full(gap_shape, 255, dtype=np.uint8))
        parts.append(img)
    return np.concatenate(parts, axis=axis)


@HOOKS.register_module()
class ReconstructionVisualizationHook(Hook):
    """Write the stage-1 decoders' reconstructions, like Fig. 3 of the paper.

    Every ``interval`` training iterations, the model runs ``forward(mode='tensor')`` (one random
    masking, without gradient) on a fixed set of clips: the first ``max_samples`` clips of the
    first training batch, so that successive images show the same clips. For each clip it
    writes one image per modality with three rows: the original input, the masked input (removed
    patches grey) and the decoder's output. Audio is drawn as a spectrogram (time to the right,
    low frequencies at the bottom, viridis over the original's range); video as the frames side
    by side, ImageNet normalisation undone. Images go to the runner's visualizer
    (``add_image``: TensorBoard with the default runtime) under
    ``reconstruction/{audio|video}_{k}`` and as PNG files to
    ``{work_dir}/{out_dir}/iter_{n}_{audio|video}_{k}.png``.

    Predictions of a ``RawTarget(norm_pix=True)`` model are per-patch normalised; they are drawn
    with the mean and variance of the original patches put back (as MAE's visualisation does).
    Models whose targets are not raw inputs (stage 2: teacher features) have nothing to draw:
    the hook logs that once and does nothing.

    Args:
        interval (int): Draw every ``interval`` training iterations. Defaults to 1000.
        max_samples (int): Clips drawn from the fixed batch. Defaults to 2.
        mask_ratio (float, optional): Masking ratio for the drawing (Fig. 3 uses 0.7); the model's
            own ratio when None. Defaults to None.
        paste_visible (bool): Show the original at the visible patches of the reconstruction
            row, as MAE's "reconstruction + visible". Defaults to False (the raw output).
        video_mean (Sequence[float]): Per-channel mean that the data preprocessor subtracted
            from the 0–255 frames. Defaults to ImageNet's.
        video_std (Sequence[float]): Per-channel std the frames were divided by.
            Defaults to ImageNet's.
        out_dir (str): Folder under the work dir for the PNG files.
            Defaults to ``'reconstructions'``.
    """

    priority = 'LOW'

    def __init__(self,
                 interval: int = 1000,
                 max_samples: int = 2,
                 mask_ratio: Optional[float] = None,
                 paste_visible: bool = False,
                 video_mean: Sequence[float] = _IMAGENET_MEAN,
                 video_std: Sequence[float] = _IMAGENET_STD,
                 out_dir: str = 'reconstructions') -> None:
        if interval < 1 or max_samples < 1:
            raise ValueError('ReconstructionVisualizationHook: interval and max_samples must be '
                             f'>= 1, got {interval} and {max_samples}')
        if mask_ratio is not None and not 0 < mask_ratio < 1:
            raise ValueError(f'ReconstructionVisualizationHook: mask_ratio must be in (0, 1), '
                             f'got {mask_ratio}')
        self.interval = interval
        self.max_samples = max_samples
        self.mask_ratio = mask_ratio
        self.paste_visible = paste_visible
        self.video_mean = torch.tensor(video_mean, dtype=torch.float32).view(-1, 1, 1, 1)
        self.video_std = torch.tensor(video_std, dtype=torch.float32).view(-1, 1, 1, 1)
        self.out_dir = out_dir
        self._fixed_batch = None
        self._skip_logged = False

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._fixed_batch is None and data_batch is not None:
            self._fixed_batch = _first_samples(data_batch, self.max_samples)
        if not self.every_n_train_iters(runner, self.interval) or self._fixed_batch is None:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not self._draws_raw_targets(model, runner):
            return
        images = self.draw(model, self._fixed_batch)
        step = runner.iter + 1
        out_dir = osp.join(runner.work_dir, self.out_dir)
        for name, image in images.items():
            runner.visualizer.add_image(f'reconstruction/{name}', image, step=step)
            mmcv.imwrite(image[..., ::-1], osp.join(out_dir, f'iter_{step}_{name}.png'))

    def _draws_raw_targets(self, model, runner) -> bool:
        from mavilkit.models.target_generators import RawTarget
        if isinstance(getattr(model, 'target_generator', None), RawTarget):
            return True
        if not self._skip_logged:
            runner.logger.info(
                'ReconstructionVisualizationHook: the model does not reconstruct raw inputs '
                f'(target generator: {type(getattr(model, "target_generator", None)).__name__}),'
                ' so there is nothing to draw; skipping.')
            self._skip_logged = True
        return False

    @torch.no_grad()
    def draw(self, model, data_batch: dict) -> Dict[str, np.ndarray]:
        """Return ``{'audio_0': RGB uint8 image, 'video_0': ..., ...}`` for ``data_batch``."""
        was_training = model.training
        saved_ratio = model.mask_ratio
        model.eval()
        try:
            if self.mask_ratio is not None:
                model.mask_ratio = self.mask_ratio
            data = model.data_preprocessor(data_batch, False)
            outputs = model(data['inputs'], data.get('data_samples'), mode='tensor')
        finally:
            model.mask_ratio = saved_ratio
            model.train(was_training)
        images = {}
        for modality in ('audio', 'video'):
            if f'{modality}_pred' not in outputs:
                continue
            original, masked, recon = self._input_space(
                model, modality, data['inputs'][modality], outputs[f'{modality}_pred'],
                outputs[f'{modality}_mask'])
            for k in range(original.shape[0]):
                if modality == 'audio':
                    # (1, T, F) → (T, F)
                    images[f'audio_{k}'] = spectrogram_rows(
                        original[k, 0].numpy(), masked[k, 0].numpy(), recon[k, 0].numpy())
                else:
                    images[f'video_{k}'] = video_rows(*(self._frames(x[k])
                                                        for x in (original, masked, recon)))
        return images

    def _input_space(self, model, modality: str, x: torch.Tensor, pred: torch.Tensor,
                     mask: torch.Tensor):
        """``(original, masked, reconstruction)`` in the input layout, on the CPU, float32."""
        backbone = getattr(model, f'{modality}_backbone')
        x = x.float()
        patches = backbone.patchify(x)
        pred = pred.float()
        target_generator = model.target_generator
        if getattr(target_generator, 'norm_pix', False):
            mean = patches.mean(dim=-1, keepdim=True)
            var = patches.var(dim=-1, keepdim=True)
            pred = pred * (var + getattr(target_generator, 'eps', 1e-6)).sqrt() + mean
        removed = mask.float().unsqueeze(-1).bool()
        if self.paste_visible:
            pred = torch.where(removed, pred, patches)
        masked = patches.masked_fill(removed, float('nan'))
        return (x.cpu(), backbone.unpatchify(masked).cpu(), backbone.unpatchify(pred).cpu())

    def _frames(self, clip: torch.Tensor) -> np.ndarray:
        """``(C, T, H, W)`` normalised → ``(T, H, W, 3)`` uint8; NaN (masked) → grey."""
        nan = torch.isnan(clip)
        clip = (clip * self.video_std + self.video_mean).clamp(0, 255)
        clip = clip.masked_fill(nan, 128.)
        return clip.permute(1, 2, 3, 0).round().to(torch.uint8).numpy()


def _first_samples(data_batch: dict, num: int) -> dict:
    """The first ``num`` clips of a collated batch (``inputs`` dict of tensors or lists)."""
    inputs = {k: v[:num] for k, v in data_batch['inputs'].items()}
    batch = dict(inputs=inputs)
    if data_batch.get('data_samples') is not None:
        batch['data_samples'] = data_batch['data_samples'][:num]
    return batch
