"""Original / masked / reconstructed spectrograms and video frames during pre-training (Fig. 3)."""
import os.path as osp
from typing import Dict, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mavilkit.registry import HOOKS
from mavilkit.visualization import IMAGENET_MEAN, IMAGENET_STD, reconstruction_images


@HOOKS.register_module()
class ReconstructionVisualizationHook(Hook):
    """Write the stage-1 decoders' reconstructions, like Fig. 3 of the paper.

    Every ``interval`` training iterations, the model runs :meth:`MAViL.reconstruct` (one random
    masking, without gradient, in eval mode) on a fixed set of clips: the first ``max_samples``
    clips of the first training batch, so that successive images show the same clips. For each
    clip it writes one image per modality with three rows: the original input, the masked input
    (removed patches grey) and the decoder's output. Audio is drawn as a spectrogram (time to the
    right, low frequencies at the bottom, viridis over the original's range); video as the frames
    side by side, ImageNet normalisation undone. Images go to the runner's visualizer
    (``add_image``: TensorBoard with the default runtime) under
    ``reconstruction/{audio|video}_{k}`` and as PNG files to
    ``{work_dir}/{out_dir}/iter_{n}_{audio|video}_{k}.png``.

    The model turns its predictions back into inputs (its target generator's ``invert``);
    the hook only draws (:mod:`mavilkit.visualization`). Models whose targets are not in input
    space (``target_generator.target_space != 'input'``; stage 2: teacher features) have nothing
    to draw: the hook logs that once and does nothing.

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
                 video_mean: Sequence[float] = IMAGENET_MEAN,
                 video_std: Sequence[float] = IMAGENET_STD,
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
        self.video_mean = tuple(video_mean)
        self.video_std = tuple(video_std)
        self.out_dir = out_dir
        self._fixed_batch: Optional[dict] = None
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
        target_generator = getattr(model, 'target_generator', None)
        if getattr(target_generator, 'target_space', None) == 'input':
            return True
        if not self._skip_logged:
            runner.logger.info(
                'ReconstructionVisualizationHook: the model does not reconstruct its inputs '
                f'(target generator: {type(target_generator).__name__}), so there is nothing '
                'to draw; skipping.')
            self._skip_logged = True
        return False

    @torch.no_grad()
    def draw(self, model, data_batch: dict) -> Dict[str, np.ndarray]:
        """Return ``{'audio_0': RGB uint8 image, 'video_0': ..., ...}`` for ``data_batch``."""
        was_training = model.training
        model.eval()
        try:
            data = model.data_preprocessor(data_batch, False)
            recs = model.reconstruct(data['inputs'], mask_ratio=self.mask_ratio)
        finally:
            model.train(was_training)
        return reconstruction_images(recs, self.paste_visible, self.video_mean, self.video_std)


def _first_samples(data_batch: dict, num: int) -> dict:
    """The first ``num`` clips of a collated batch (``inputs`` dict of tensors or lists)."""
    inputs = {k: v[:num] for k, v in data_batch['inputs'].items()}
    batch = dict(inputs=inputs)
    if data_batch.get('data_samples') is not None:
        batch['data_samples'] = data_batch['data_samples'][:num]
    return batch
