"""Batch preparation on the device: stacking, casting, fbank, audio augmentation, mixup."""
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from mavilkit.datasets.transforms.audio import add_noise_at_snr, spec_augment
from mavilkit.registry import MODELS
from .fbank import BatchedKaldiFbank
from .mixup import draw_mixup, mix_batch


@MODELS.register_module()
class AVDataPreprocessor(BaseDataPreprocessor):
    """Turn collated samples into ``{'audio': (B, 1, T, F), 'video': (B, C, T, H, W)}``.

    - stacks the per-sample tensors (``pseudo_collate`` lists) and moves them to the device;
    - audio is cast to float32 (already normalised by ``AudioFbank``); with ``fbank`` set, the
      audio arrives as ``(B, L)`` waveforms from ``PrepareWaveform`` and the Kaldi fbank is
      computed here, batched on the device (``BatchedKaldiFbank``, equal to ``AudioFbank``
      within 1e-4), so that the workers only decode and downmix;
    - uint8 video is cast to float32 and normalised with ImageNet mean / std (0-255 scale);
      multi-clip video ``(B, K, C, T, H, W)`` keeps its clip axis.

    In training (``training=True``) and in this order, as AST / Audio-MAE do it:

    1. **mixup** (``mixup_prob > 0``, needs ``fbank`` when the batch has audio): each sample is
       mixed with probability ``mixup_prob`` with a random partner from the batch,
       ``λ ~ Beta(mixup_beta, mixup_beta)``; the *waveforms* are mixed before the fbank, the
       ``gt_score`` of the data samples with the same λ, and (mavilkit's extension to
       audio + video) the partner's video frames with the same λ (:mod:`.mixup`). A mixed
       sample's fbank keeps the frames of the longer of the two waveforms. Each data sample
       gets ``mixup_lambda`` (1 when unmixed) and ``mixup_partner`` (its batch index) in its
       metainfo. Table 10's "Mixup 0.5" is ``mixup_prob=0.5`` with ``mixup_beta=10``.
    2. the fbank of the (mixed) waveforms;
    3. **SpecAugment** (``spec_augment``, needs ``fbank``): one frequency and one time band per
       clip set to 0 *before* normalisation (so +0.467 after it with the AudioSet statistics);
    4. normalisation ``(x - mean) / (2 · std)``;
    5. **spectrogram noise** (``noise_snr_db``, needs ``fbank``): Gaussian noise at that SNR,
       measured against the mean power of each normalised spectrogram (Table 10 "N").

    Steps 3-5 use the same functions as the worker transforms ``SpecAugment`` and
    ``SpectrogramNoise`` (``mavilkit.datasets.transforms.audio``). Validation and test batches
    get only the fbank and normalisation.

    ``mixup_alpha > 0`` keeps the older batch mixup as a documented alternative (not the
    references' recipe): one ``λ ~ Beta(α, α)`` per batch and one permutation mix the inputs as
    they arrive here (normalised fbanks, frames) and the ``gt_score`` alike.

    Args:
        mean (Sequence[float]): per-channel video mean. Defaults to ImageNet's × 255.
        std (Sequence[float]): per-channel video std. Defaults to ImageNet's × 255.
        mixup_alpha (float): Beta parameter of the alternative batch mixup; 0 disables it.
            Defaults to 0.
        non_blocking (bool): asynchronous host-to-device copies.
        fbank (dict, optional): arguments of ``BatchedKaldiFbank`` (``sample_rate``,
            ``num_mel_bins``, ``frame_shift``, ``target_length``, ``mean``, ``std``), matching
            the pipeline's ``PrepareWaveform``. None (default): the workers compute the fbank.
        mixup_prob (float): probability that a training sample is mixed, in [0, 1]. Defaults
            to 0 (off); Table 10's fine-tuning value is 0.5.
        mixup_beta (float): parameter of the symmetric Beta distribution of λ. Defaults to 10
            (AST, Audio-MAE).
        spec_augment (dict, optional): ``time_mask_param`` and ``freq_mask_param`` (frames /
            bins; Table 10: 192/48 on AudioSet and VGGSound, 96/24 ESC-50, 48/48 SPC).
        noise_snr_db (float, optional): SNR of the spectrogram noise in dB (Table 10 "N": 20).

    Raises:
        ValueError: for out-of-range settings, for both mixups at once, or for an audio
            augmentation without ``fbank``.
    """

    def __init__(self,
                 mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375),
                 mixup_alpha: float = 0.,
                 non_blocking: bool = False,
                 fbank: Optional[dict] = None,
                 mixup_prob: float = 0.,
                 mixup_beta: float = 10.,
                 spec_augment: Optional[dict] = None,
                 noise_snr_db: Optional[float] = None):
        super().__init__(non_blocking=non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1, 1),
                             persistent=False)
        if mixup_alpha < 0:
            raise ValueError(f'mixup_alpha must be >= 0, got {mixup_alpha}')
        if not 0. <= mixup_prob <= 1.:
            raise ValueError(f'mixup_prob must be in [0, 1], got {mixup_prob}')
        if not mixup_beta > 0:
            raise ValueError(f'mixup_beta must be > 0, got {mixup_beta}')
        if mixup_alpha and mixup_prob:
            raise ValueError('choose one mixup: mixup_prob/mixup_beta (per-sample waveform '
                             'mixup, the reference recipe) or mixup_alpha (batch mixup)')
        self.mixup_alpha = mixup_alpha
        self._beta = torch.distributions.Beta(mixup_alpha, mixup_alpha) if mixup_alpha else None
        self.fbank = BatchedKaldiFbank(**fbank) if fbank is not None else None
        self.mixup_prob = float(mixup_prob)
        self.mixup_beta = float(mixup_beta)
        self.spec_augment = None
        if spec_augment is not None:
            unknown = set(spec_augment) - {'time_mask_param', 'freq_mask_param'}
            if unknown:
                raise ValueError(f'spec_augment takes time_mask_param and freq_mask_param, got '
                                 f'{sorted(unknown)}')
            self.spec_augment = (int(spec_augment.get('time_mask_param', 0)),
                                 int(spec_augment.get('freq_mask_param', 0)))
        self.noise_snr_db = noise_snr_db
        if self.fbank is None and (self.spec_augment is not None or noise_snr_db is not None):
            raise ValueError('spec_augment / noise_snr_db act on the fbank computed here: give '
                             'fbank=dict(...) (or use the SpecAugment / SpectrogramNoise '
                             'transforms when the workers compute the fbank)')

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = {k: torch.stack(v) if isinstance(v, (list, tuple)) else v
                  for k, v in data['inputs'].items()}
        data = self.cast_data(dict(inputs=inputs, data_samples=data.get('data_samples')))
        inputs, data_samples = data['inputs'], data['data_samples']
        mix = None
        if training and self.mixup_prob > 0:
            mix = draw_mixup(next(iter(inputs.values())).shape[0], self.mixup_prob,
                             self.mixup_beta)
        if 'audio' in inputs:
            inputs['audio'] = inputs['audio'].float()
            if self.fbank is not None:
                inputs['audio'] = self.waveform_to_fbank(inputs['audio'], data_samples,
                                                         training, mix)
            elif mix is not None:
                raise ValueError('mixup_prob mixes waveforms before the fbank: give '
                                 'AVDataPreprocessor fbank=dict(...) and end the audio '
                                 'pipeline with PrepareWaveform')
        if 'video' in inputs:
            inputs['video'] = (inputs['video'].float() - self.mean) / self.std
            if mix is not None:
                inputs['video'] = mix_batch(inputs['video'], *mix)
        if mix is not None:
            self._mix_labels(data_samples, *mix)
        if training and self._beta is not None:
            inputs, data_samples = self.batch_mixup(inputs, data_samples)
        return dict(inputs=inputs, data_samples=data_samples)

    def waveform_to_fbank(self, waveforms: torch.Tensor, data_samples: Optional[list],
                          training: bool = False, mix: Optional[tuple] = None) -> torch.Tensor:
        """``(B, L)`` waveforms → ``(B, 1, T, F)`` normalised fbanks, on their device.

        Each data sample's ``audio_num_frames`` (set by ``PrepareWaveform`` / ``PackAVInputs``)
        marks where its zero padding starts; without data samples every frame is kept. With
        ``mix`` (``(lam, partner)`` of :func:`draw_mixup`) the waveforms are mixed first; in
        training, SpecAugment and noise are applied around the normalisation.
        """
        if self.fbank is None:
            raise ValueError('waveform_to_fbank needs the device fbank: give `fbank=dict(...)`')
        num_frames: Optional[List[int]] = None
        if data_samples is not None:
            missing = [i for i, s in enumerate(data_samples) if 'audio_num_frames' not in s]
            if missing:
                raise KeyError('the device fbank needs audio_num_frames in every data sample '
                               f'(samples {missing} lack it): put PrepareWaveform before '
                               'PackAVInputs in the pipeline')
            num_frames = [int(s.audio_num_frames) for s in data_samples]
        if mix is not None:
            lam, partner = mix
            waveforms = mix_batch(waveforms, lam, partner)
            if num_frames is not None:  # the mix lasts as long as the longer waveform
                num_frames = [max(n, num_frames[p]) for n, p in zip(num_frames, partner.tolist())]
        if not training or (self.spec_augment is None and self.noise_snr_db is None):
            return self.fbank(waveforms, num_frames)
        fbank = self.fbank(waveforms, num_frames, normalize=False)
        if self.spec_augment is not None:
            fbank = spec_augment(fbank, *self.spec_augment, mask_value=0.)
        fbank = self.fbank.normalize(fbank)
        if self.noise_snr_db is not None:
            fbank = add_noise_at_snr(fbank, self.noise_snr_db)
        return fbank

    @staticmethod
    def _mix_labels(data_samples: Optional[list], lam: torch.Tensor,
                    partner: torch.Tensor) -> None:
        """``gt_score_i ← λ_i · gt_score_i + (1 − λ_i) · gt_score_partner(i)``; the draws go
        to each sample's metainfo."""
        if data_samples is None:
            return
        if any('gt_score' not in s for s in data_samples):
            raise KeyError('mixup needs gt_score in every data sample; give the dataset '
                           'num_classes (PackAVInputs builds gt_score from it).')
        scores = torch.stack([s.gt_score for s in data_samples])
        mixed = mix_batch(scores.float(), lam, partner)
        for sample, score, lam_i, partner_i in zip(data_samples, mixed, lam.tolist(),
                                                   partner.tolist()):
            sample.set_gt_score(score)
            sample.set_metainfo(dict(mixup_lambda=lam_i, mixup_partner=partner_i))

    def batch_mixup(self, inputs: dict, data_samples: Optional[list],
                    lam: Optional[float] = None):
        """The alternative batch mixup (``mixup_alpha``): mix the batch with its random
        permutation; ``lam`` is drawn when not given."""
        if lam is None:
            if self._beta is None:
                raise ValueError('AVDataPreprocessor.mixup: give `lam`, or set mixup_alpha > 0 '
                                 'to draw it')
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
