"""Audio transforms: waveform augmentation, Kaldi fbank, SpecAugment."""
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from torchaudio.compliance import kaldi

from mavilkit.registry import TRANSFORMS

#: Fbank normalisation statistics of Table 10 (mean, std).
FBANK_STATS = dict(
    audioset=(-4.268, 4.569),
    vggsound=(-5.189, 3.260),
    esc50=(-6.627, 5.359),
    speechcommands=(-6.702, 5.448),
)


@TRANSFORMS.register_module()
class AudioRandomRoll(BaseTransform):
    """Random start with cyclic roll in time (Table 10, augmentation "R").

    The waveform is rolled by a uniform random number of samples, so the clip starts at a random
    point and its end wraps to the front. With ``magnitude_aug`` it is also scaled by
    ``Beta(10, 10) + 0.5`` (the "magnitude augmentation" of §4.2, as in Audio-MAE).

    Required Keys: ``waveform``

    Modified Keys: ``waveform``

    Args:
        magnitude_aug (bool): also scale the magnitude. Defaults to False.
    """

    def __init__(self, magnitude_aug: bool = False):
        self.magnitude_aug = magnitude_aug

    def transform(self, results: dict) -> dict:
        waveform = results['waveform']
        waveform = np.roll(waveform, np.random.randint(len(waveform)))
        if self.magnitude_aug:
            waveform = waveform * np.float32(np.random.beta(10, 10) + 0.5)
        results['waveform'] = waveform
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(magnitude_aug={self.magnitude_aug})'


@TRANSFORMS.register_module()
class AudioAddNoise(BaseTransform):
    """Add white Gaussian noise at a fixed signal-to-noise ratio (Table 10, "N": 20 dB).

    The noise power is ``mean(waveform ** 2) / 10 ** (snr_db / 10)``; a silent waveform stays
    silent.

    Required Keys: ``waveform``

    Modified Keys: ``waveform``

    Args:
        snr_db (float): signal-to-noise ratio in dB. Defaults to 20.
    """

    def __init__(self, snr_db: float = 20.):
        self.snr_db = snr_db

    def transform(self, results: dict) -> dict:
        waveform = results['waveform']
        power = float(np.mean(np.square(waveform, dtype=np.float64)))
        noise_std = np.sqrt(power / 10 ** (self.snr_db / 10))
        noise = np.random.standard_normal(waveform.shape) * noise_std
        results['waveform'] = (waveform + noise).astype(np.float32)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(snr_db={self.snr_db})'


def waveform_to_fbank(waveform: torch.Tensor, sample_rate: int = 16000, num_mel_bins: int = 128,
                      frame_shift: float = 10.) -> torch.Tensor:
    """Kaldi fbank ``(frames, num_mel_bins)`` of a mono waveform, after removing its mean.

    The settings are those of AST / Audio-MAE / MAViL (Appendix B): 25 ms Hanning window,
    10 ms shift, 128 mel bins, no dither, no energy, HTK-compatible output.
    """
    waveform = waveform.reshape(1, -1).float()
    return kaldi.fbank(waveform - waveform.mean(), htk_compat=True,
                       sample_frequency=sample_rate, use_energy=False, window_type='hanning',
                       num_mel_bins=num_mel_bins, dither=0.0, frame_shift=frame_shift)


@TRANSFORMS.register_module()
class AudioFbank(BaseTransform):
    """Waveform → Kaldi fbank → zero-pad / crop to ``target_length`` → normalise.

    A 10 s clip at 16 kHz gives 998 frames, padded at the end with zeros to 1024 (1×1024×128,
    Appendix B); longer audio is cropped from the start. Normalisation is
    ``(x - mean) / (2 * std)`` with dataset statistics (Audio-MAE's convention), applied after
    padding as in AST / Audio-MAE. Defaults are AudioSet's (Table 10); ``FBANK_STATS`` holds the
    others. ``mean=None`` skips normalisation (used by ``tools/data/compute_fbank_stats.py``).

    Required Keys: ``waveform``, ``sample_rate``

    Added Keys: ``audio`` (float32 ``(target_length, num_mel_bins)``), ``audio_num_frames``
    (frames before padding / cropping)

    Args:
        target_length (int): output frames. Defaults to 1024.
        num_mel_bins (int): mel bins. Defaults to 128.
        frame_shift (float): frame shift in ms. Defaults to 10.
        mean (float, optional): dataset mean. Defaults to -4.268 (AudioSet).
        std (float): dataset std. Defaults to 4.569 (AudioSet).
    """

    def __init__(self, target_length: int = 1024, num_mel_bins: int = 128,
                 frame_shift: float = 10., mean: Optional[float] = FBANK_STATS['audioset'][0],
                 std: float = FBANK_STATS['audioset'][1]):
        self.target_length = target_length
        self.num_mel_bins = num_mel_bins
        self.frame_shift = frame_shift
        self.mean = mean
        self.std = std

    def transform(self, results: dict) -> dict:
        fbank = waveform_to_fbank(torch.from_numpy(np.asarray(results['waveform'])),
                                  results.get('sample_rate', 16000), self.num_mel_bins,
                                  self.frame_shift)
        num_frames = fbank.shape[0]
        if num_frames < self.target_length:
            fbank = F.pad(fbank, (0, 0, 0, self.target_length - num_frames))
        else:
            fbank = fbank[:self.target_length]
        if self.mean is not None:
            fbank = (fbank - self.mean) / (2 * self.std)
        results['audio'] = fbank.numpy()
        results['audio_num_frames'] = num_frames
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_length={self.target_length}, '
                f'num_mel_bins={self.num_mel_bins}, frame_shift={self.frame_shift}, '
                f'mean={self.mean}, std={self.std})')


def fbank_num_samples(num_frames: int, sample_rate: int = 16000, frame_shift: float = 10.,
                      frame_length: float = 25.) -> int:
    """Samples that give exactly ``num_frames`` Kaldi frames (``snip_edges=True``):
    ``(num_frames - 1) · shift + window`` (164,080 for 1024 frames at 16 kHz)."""
    shift = int(sample_rate * frame_shift / 1000)
    window = int(sample_rate * frame_length / 1000)
    return (num_frames - 1) * shift + window


def fbank_num_frames(num_samples: int, sample_rate: int = 16000, frame_shift: float = 10.,
                     frame_length: float = 25.) -> int:
    """Kaldi frames of ``num_samples`` samples (``snip_edges=True``; 0 below one window)."""
    shift = int(sample_rate * frame_shift / 1000)
    window = int(sample_rate * frame_length / 1000)
    return 0 if num_samples < window else 1 + (num_samples - window) // shift


@TRANSFORMS.register_module()
class PrepareWaveform(BaseTransform):
    """Waveform for the fbank on the device: remove its mean, zero-pad / crop to a fixed length.

    The worker-side half of the device fbank (``AVDataPreprocessor(fbank=...)``, issue 13 §2):
    the worker decodes and downmixes, this transform removes the mean of the whole waveform
    (as ``AudioFbank`` does before the fbank) and pads with zeros or crops from the start to
    ``(target_length - 1) · shift + window`` samples, the samples of exactly ``target_length``
    Kaldi frames (164,080 at 16 kHz for 1024 frames). The fbank frames the unpadded waveform
    gives are recorded, so that the device can zero the padded frames as ``AudioFbank`` does.
    Fbank-domain transforms (``SpecAugment``) cannot follow it in the pipeline.

    Required Keys: ``waveform``, ``sample_rate``

    Added Keys: ``audio`` (float32 ``(L,)`` waveform), ``audio_num_frames`` (frames before
    padding / cropping)

    Args:
        target_length (int): fbank frames the device will compute. Defaults to 1024.
        sample_rate (int): expected sampling rate (Hz); another one raises ``ValueError``.
            Defaults to 16000.
        frame_shift (float): ms. Defaults to 10.
        frame_length (float): ms. Defaults to 25.
    """

    def __init__(self, target_length: int = 1024, sample_rate: int = 16000,
                 frame_shift: float = 10., frame_length: float = 25.):
        self.target_length = target_length
        self.sample_rate = sample_rate
        self.frame_shift = frame_shift
        self.frame_length = frame_length
        self.num_samples = fbank_num_samples(target_length, sample_rate, frame_shift,
                                             frame_length)

    def transform(self, results: dict) -> dict:
        rate = results.get('sample_rate', 16000)
        if rate != self.sample_rate:
            raise ValueError(f'PrepareWaveform expects {self.sample_rate} Hz audio, got {rate} Hz '
                             f'({results.get("filename") or results.get("audio_path")})')
        waveform = torch.from_numpy(np.asarray(results['waveform'], np.float32).reshape(-1))
        waveform = (waveform - waveform.mean()).numpy()  # as waveform_to_fbank does
        out = np.zeros(self.num_samples, np.float32)
        out[:min(waveform.size, self.num_samples)] = waveform[:self.num_samples]
        results['audio'] = out
        results['audio_num_frames'] = fbank_num_frames(waveform.size, self.sample_rate,
                                                       self.frame_shift, self.frame_length)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(target_length={self.target_length}, '
                f'sample_rate={self.sample_rate}, frame_shift={self.frame_shift})')


@TRANSFORMS.register_module()
class SpecAugment(BaseTransform):
    """SpecAugment time and frequency masking with torchaudio (Table 10: 192/48 on AudioSet).

    One time mask of up to ``time_mask_param`` frames and one frequency mask of up to
    ``freq_mask_param`` bins, filled with 0, i.e. the dataset mean after ``AudioFbank``'s
    normalisation.

    Required Keys: ``audio`` (``(T, F)``)

    Modified Keys: ``audio``

    Args:
        time_mask_param (int): largest time mask. Defaults to 192.
        freq_mask_param (int): largest frequency mask. Defaults to 48.
    """

    def __init__(self, time_mask_param: int = 192, freq_mask_param: int = 48):
        import torchaudio.transforms as T
        self.time_mask_param = time_mask_param
        self.freq_mask_param = freq_mask_param
        self.time_masking = T.TimeMasking(time_mask_param) if time_mask_param else None
        self.freq_masking = T.FrequencyMasking(freq_mask_param) if freq_mask_param else None

    def transform(self, results: dict) -> dict:
        if np.ndim(results['audio']) != 2:
            raise ValueError('SpecAugment needs a (T, F) fbank from AudioFbank, got audio of '
                             f'shape {np.shape(results["audio"])} (a waveform for the device '
                             'fbank?)')
        spec = torch.from_numpy(np.ascontiguousarray(results['audio'])).T[None]  # (1, F, T)
        if self.freq_masking is not None:
            spec = self.freq_masking(spec)
        if self.time_masking is not None:
            spec = self.time_masking(spec)
        results['audio'] = spec[0].T.contiguous().numpy()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(time_mask_param={self.time_mask_param}, '
                f'freq_mask_param={self.freq_mask_param})')
