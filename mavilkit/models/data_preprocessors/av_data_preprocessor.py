"""Batch preparation on the device: stacking, casting, video normalisation and mixup."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mavilkit.registry import MODELS
from .fbank import BatchedKaldiFbank


@MODELS.register_module()
class AVDataPreprocessor(BaseDataPreprocessor):
    """Turn collated samples into ``{'audio': (B, 1, T, F), 'video': (B, C, T, H, W)}``.

    - stacks the per-sample tensors (``pseudo_collate`` lists) and moves them to the device;
    - audio is cast to float32 (already normalised by ``AudioFbank``); with ``fbank`` set, the
      audio arrives as ``(B, L)`` waveforms from ``PrepareWaveform`` and the Kaldi fbank is
      computed here, batched on the device (``BatchedKaldiFbank``, equal to ``AudioFbank``
      within 1e-4), so that the workers only decode and downmix;
    - uint8 video is cast to float32 and normalised with ImageNet mean / std (0-255 scale);
      multi-clip video ``(B, K, C, T, H, W)`` keeps its clip axis;
    - with ``mixup_alpha > 0`` and ``training=True``: one ``λ ~ Beta(α, α)`` per batch and one
      permutation mix audio, video and the ``gt_score`` of the data samples alike
      (``x = λ x + (1 - λ) x[perm]``; Table 10: α = 0.5 for fine-tuning).

    Args:
        mean (Sequence[float]): per-channel video mean. Defaults to ImageNet's × 255.
        std (Sequence[float]): per-channel video std. Defaults to ImageNet's × 255.
        mixup_alpha (float): Beta parameter of mixup; 0 disables it. Defaults to 0.
        non_blocking (bool): asynchronous host-to-device copies.
        fbank (dict, optional): arguments of ``BatchedKaldiFbank`` (``sample_rate``,
            ``num_mel_bins``, ``frame_shift``, ``target_length``, ``mean``, ``std``), matching
            the pipeline's ``PrepareWaveform``. None (default): the workers compute the fbank.

    A waveform-domain batch augmentation (waveform mixup) belongs in
    :meth:`waveform_to_fbank`, between the stacked waveforms and the fbank.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 mixup_alpha: float = 0.,
                 non_blocking: bool = False,
                 fbank: Optional[dict] = None):
        super().__init__(non_blocking=non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1),
                             persistent=False)
        if mixup_alpha < 0:
            raise ValueError(f'mixup_alpha must be >= 0, got {mixup_alpha}')
        self.mixup_alpha = mixup_alpha
        self._beta = torch.distributions.Beta(mixup_alpha, mixup_alpha) if mixup_alpha else None
        self.fbank = BatchedKaldiFbank(**fbank) if fbank is not None else None

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = {k: torch.stack(v) if isinstance(v, (list, tuple)) else v
                  for k, v in data['inputs'].items()}
        data = self.cast_data(dict(inputs=inputs, data_samples=data.get('data_samples')))
        inputs, data_samples = data['inputs'], data['data_samples']
        if 'audio' in inputs:
            inputs['audio'] = inputs['audio'].float()
            if self.fbank is not None:
                inputs['audio'] = self.waveform_to_fbank(inputs['audio'], data_samples)
        if 'video' in inputs:
            inputs['video'] = (inputs['video'].float() - self.mean) / self.std
        if training and self._beta is not None:
            inputs, data_samples = self.mixup(inputs, data_samples)
        return dict(inputs=inputs, data_samples=data_samples)

    def waveform_to_fbank(self, waveforms: torch.Tensor,
                          data_samples: Optional[list]) -> torch.Tensor:
        """``(B, L)`` waveforms → ``(B, 1, T, F)`` normalised fbanks, on their device.

        Each data sample's ``audio_num_frames`` (set by ``PrepareWaveform`` / ``PackAVInputs``)
        marks where its zero padding starts; without data samples every frame is kept.
        """
        num_frames = None
        if data_samples is not None:
            missing = [i for i, s in enumerate(data_samples) if 'audio_num_frames' not in s]
            if missing:
                raise KeyError('the device fbank needs audio_num_frames in every data sample '
                               f'(samples {missing} lack it): put PrepareWaveform before '
                               'PackAVInputs in the pipeline')
            num_frames = [s.audio_num_frames for s in data_samples]
        return self.fbank(waveforms, num_frames)

    def mixup(self, inputs: dict, data_samples: Optional[list], lam: Optional[float] = None):
        """Mix the batch with its random permutation; ``lam`` is drawn when not given."""
        if lam is None:
            lam = float(self._beta.sample())  # a CPU draw: no device sync
        batch_size = next(iter(inputs.values())).shape[0]
        perm = torch.randperm(batch_size, device=next(iter(inputs.values())).device)
        inputs = {k: lam * v + (1 - lam) * v[perm] for k, v in inputs.items()}
        if data_samples is not None:
            if any('gt_score' not in s for s in data_samples):
                raise KeyError('mixup needs gt_score in every data sample; give the dataset '
                               'num_classes (PackAVInputs builds gt_score from it).')
            scores = torch.stack([s.gt_score for s in data_samples])
            mixed = lam * scores + (1 - lam) * scores[perm]
            for sample, score in zip(data_samples, mixed):
                sample.set_gt_score(score)
                sample.set_metainfo(dict(mixup_lambda=lam))
        return inputs, data_samples
