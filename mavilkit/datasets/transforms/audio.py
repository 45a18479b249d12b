"""Audio transforms: waveform augmentation, Kaldi fbank, SpecAugment, spectrogram noise.

The spectrogram math (:func:`normalize_fbank`, :func:`spec_augment`, :func:`add_noise_at_snr`)
is shared by the worker transforms below and by the fbank on the device
(``AVDataPreprocessor(fbank=...)``), so both paths apply the same recipe in the same order
(AST / Audio-MAE): fbank → SpecAugment (masked bins hold 0) → normalisation → noise.
"""
from typing import Optional, Tuple

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


def normalize_fbank(fbank: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """``(fbank - mean) / (2 · std)``: Audio-MAE's / AST's normalisation with dataset statistics
    (Table 10). A bin that holds 0 before it holds ``-mean / (2 · std)`` after it (+0.467 with
    the AudioSet statistics)."""
    return (fbank - mean) / (2 * std)


def spec_augment(spec: torch.Tensor, time_mask_param: int, freq_mask_param: int,
                 mask_value: float = 0.) -> torch.Tensor:
    """SpecAugment (Park et al., 2019) as AST / Audio-MAE apply it, independently per spectrogram.

    One frequency band, then one time band, is set to ``mask_value`` in every spectrogram of
    ``spec`` ``(..., T, F)`` (at least one leading axis). A band's width is
    ``floor(u · param)`` and its first bin ``floor(v · (size - width))`` with ``u, v ~ U[0, 1)``
    (``torchaudio.functional.mask_along_axis_iid``, the draw of torchaudio's
    ``FrequencyMasking`` / ``TimeMasking`` used by the references); a ``param`` of 0 skips the
    band. The draws use the RNG of ``spec``'s device.

    The references mask the fbank before normalising it, so a masked bin holds 0 before
    normalisation: pass ``mask_value=0`` on an unnormalised fbank, or the normalised zero
    ``-mean / (2 · std)`` on a normalised one (the two are equal, the normalisation being an
    affine map of each bin).

    Returns:
        Tensor: the masked spectrograms, same shape and dtype (a new tensor).
    """
    from torchaudio.functional import mask_along_axis_iid
    if spec.dim() < 3:
        raise ValueError(f'spec_augment needs (..., T, F) with a leading axis, got shape '
                         f'{tuple(spec.shape)}')
    x = spec.transpose(-1, -2)  # (..., F, T): torchaudio's layout
    if freq_mask_param:
        x = mask_along_axis_iid(x, freq_mask_param, mask_value, axis=x.dim() - 2)
    if time_mask_param:
        x = mask_along_axis_iid(x, time_mask_param, mask_value, axis=x.dim() - 1)
    return x.transpose(-1, -2).contiguous()


def add_noise_at_snr(spec: torch.Tensor, snr_db: float,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Add white Gaussian noise to spectrograms at ``snr_db`` (Table 10, "N": 20 dB).

    For each spectrogram ``x`` (the last two axes of ``spec``, ``(..., T, F)``), the signal power
    is the mean square of the spectrogram the noise is added to, over all its ``T × F`` bins:
    ``P = mean(x²)``. The noise is i.i.d. ``N(0, P · 10^(-snr_db / 10))`` per bin, so
    ``10 · log10(P / mean(noise²)) = snr_db`` in expectation. mavilkit adds it to the normalised
    spectrogram, after SpecAugment, where AST / Audio-MAE add their noise. A spectrogram of
    zeros stays unchanged.

    Returns:
        Tensor: ``spec + noise``, same shape and dtype.
    """
    power = spec.float().pow(2).mean(dim=(-2, -1), keepdim=True)
    noise_std = (power / 10 ** (snr_db / 10)).sqrt()
    noise = torch.randn(spec.shape, device=spec.device, generator=generator)
    return (spec.float() + noise * noise_std).to(spec.dtype)


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
    """Add white Gaussian noise to the waveform at a fixed signal-to-noise ratio.

    The noise power is ``mean(waveform ** 2) / 10 ** (snr_db / 10)``; a silent waveform stays
    silent. This is a waveform-domain alternative: Table 10's "N" adds its noise to the
    spectrogram, which :class:`SpectrogramNoise` (worker fbank) and
    ``AVDataPreprocessor(noise_snr_db=...)`` (device fbank) do; the shipped configs use those.

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
    (frames before padding / cropping), ``fbank_norm`` (``(mean, std)``, when normalised: the
    spectrogram transforms after it need the value a 0 takes)

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
            fbank = normalize_fbank(fbank, self.mean, self.std)
            results['fbank_norm'] = (float(self.mean), float(self.std))
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
        tensor = torch.from_numpy(np.asarray(results['waveform'], np.float32).reshape(-1))
        waveform = (tensor - tensor.mean()).numpy()  # as waveform_to_fbank does
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
class CenterAudioOnVideo(BaseTransform):
    """Cut the audio window of ``target_length`` fbank frames centred on the video clip(s).

    For clips longer than the audio window (MSR-VTT and YouCook clips last up to minutes), the
    fbank would otherwise keep the first 10.24 s while the video test view is the middle 4 s:
    on a 30-s clip the two never overlap and the retrieval pair shows two different moments.
    This transform keeps the ``fbank_num_samples(target_length)`` samples (10.255 s for 1024
    frames at 16 kHz) centred on the middle of the sampled video span (``clip_starts[0]`` to
    ``clip_starts[-1] + clip_seconds``, set by ``SampleVideoFrames``), shifted to stay inside
    the waveform; a window that the video wraps past the end of the clip (training starts
    near the end) is cut cyclically in the same way, so the audio window always contains the
    video window when the span fits in it (4 s in 10.24 s). Audio no longer than the window is
    left whole. Times are video times (seconds since the first frame) taken as audio times
    (seconds since the first sample); streams that start apart shift the pair by that
    difference, which the 3 s margin on each side absorbs for ordinary files.

    Place it after ``LoadAudio`` and ``SampleVideoFrames`` and before ``AudioFbank`` /
    ``PrepareWaveform``; it then replaces ``AudioRandomRoll`` (the video's random start is the
    random shift).

    Required Keys: ``waveform``, ``sample_rate``, ``clip_starts``, ``clip_seconds``

    Optional Keys: ``video_duration`` (the wrap length; default: the audio's duration)

    Modified Keys: ``waveform``

    Added Keys: ``audio_window`` (start, end) in seconds of the kept samples (the end may pass
    the clip's end when the window wraps)

    Args:
        target_length (int): fbank frames of the window. Defaults to 1024.
        frame_shift (float): ms. Defaults to 10.
        frame_length (float): ms. Defaults to 25.
    """

    def __init__(self, target_length: int = 1024, frame_shift: float = 10.,
                 frame_length: float = 25.):
        self.target_length = target_length
        self.frame_shift = frame_shift
        self.frame_length = frame_length

    def transform(self, results: dict) -> dict:
        waveform = np.asarray(results['waveform'])
        rate = results.get('sample_rate', 16000)
        window = fbank_num_samples(self.target_length, rate, self.frame_shift, self.frame_length)
        if waveform.size <= window:
            results['audio_window'] = (0., waveform.size / rate)
            return results
        starts = np.asarray(results['clip_starts'], np.float64).reshape(-1)
        first, last = float(starts.min()), float(starts.max() + results['clip_seconds'])
        duration = float(results.get('video_duration') or waveform.size / rate)
        begin = int(round((first + last) / 2 * rate)) - window // 2
        if last <= duration + 1e-6:  # the video window does not wrap: stay inside the audio
            begin = min(max(begin, 0), waveform.size - window)
            results['waveform'] = waveform[begin:begin + window]
        else:
            results['waveform'] = np.take(waveform, begin + np.arange(window), mode='wrap')
        results['audio_window'] = (begin / rate, (begin + window) / rate)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(target_length={self.target_length})'


def _normalised_zero(results: dict) -> float:
    """The value a 0 of the fbank takes after ``AudioFbank``'s normalisation (0 without it)."""
    norm: Optional[Tuple[float, float]] = results.get('fbank_norm')
    return 0. if norm is None else -norm[0] / (2 * norm[1])


def _check_fbank(results: dict, name: str) -> torch.Tensor:
    if np.ndim(results['audio']) != 2:
        raise ValueError(f'{name} needs a (T, F) fbank from AudioFbank, got audio of shape '
                         f'{np.shape(results["audio"])} (a waveform for the device fbank? then '
                         f'give AVDataPreprocessor the augmentation instead)')
    return torch.from_numpy(np.ascontiguousarray(results['audio'], np.float32))


@TRANSFORMS.register_module()
class SpecAugment(BaseTransform):
    """SpecAugment time and frequency masking (Table 10: 192/48 on AudioSet), as AST / Audio-MAE.

    One frequency band of up to ``freq_mask_param`` bins and one time band of up to
    ``time_mask_param`` frames (:func:`spec_augment`). The references mask the fbank *before*
    normalising it, so a masked bin holds 0 before normalisation; placed after ``AudioFbank``
    (which normalises), this transform fills the masked bins with the value 0 takes after the
    normalisation, ``-mean / (2 · std)`` (+0.467 with the AudioSet statistics), read from the
    ``fbank_norm`` key that ``AudioFbank`` sets; the result is exactly that of masking first.
    With the fbank on the device, ``AVDataPreprocessor(spec_augment=...)`` masks instead.

    Required Keys: ``audio`` (``(T, F)``)

    Optional Keys: ``fbank_norm`` (``(mean, std)``; absent: the fbank is not normalised, fill 0)

    Modified Keys: ``audio``

    Args:
        time_mask_param (int): largest time mask (frames). Defaults to 192.
        freq_mask_param (int): largest frequency mask (bins). Defaults to 48.

    Raises:
        ValueError: when ``audio`` is not a ``(T, F)`` fbank.
    """

    def __init__(self, time_mask_param: int = 192, freq_mask_param: int = 48):
        self.time_mask_param = time_mask_param
        self.freq_mask_param = freq_mask_param

    def transform(self, results: dict) -> dict:
        spec = _check_fbank(results, 'SpecAugment')
        spec = spec_augment(spec[None], self.time_mask_param, self.freq_mask_param,
                            _normalised_zero(results))[0]
        results['audio'] = spec.numpy()
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(time_mask_param={self.time_mask_param}, '
                f'freq_mask_param={self.freq_mask_param})')


@TRANSFORMS.register_module()
class SpectrogramNoise(BaseTransform):
    """Gaussian noise on the spectrogram at ``snr_db`` (Table 10, "N": 20 dB SNR).

    :func:`add_noise_at_snr`: the SNR is measured against the mean power of the normalised
    spectrogram of the clip (all ``T × F`` bins, padding included), where AST / Audio-MAE add
    their spectrogram noise (after SpecAugment and normalisation). Place it after
    ``AudioFbank`` and ``SpecAugment``. With the fbank on the device,
    ``AVDataPreprocessor(noise_snr_db=...)`` adds it instead.

    Required Keys: ``audio`` (``(T, F)``)

    Modified Keys: ``audio``

    Args:
        snr_db (float): signal-to-noise ratio in dB. Defaults to 20.

    Raises:
        ValueError: when ``audio`` is not a ``(T, F)`` fbank.
    """

    def __init__(self, snr_db: float = 20.):
        self.snr_db = snr_db

    def transform(self, results: dict) -> dict:
        spec = _check_fbank(results, 'SpectrogramNoise')
        results['audio'] = add_noise_at_snr(spec, self.snr_db).numpy()
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(snr_db={self.snr_db})'
