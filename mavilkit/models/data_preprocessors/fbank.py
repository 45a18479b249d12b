"""The Kaldi fbank of a batch of waveforms, on the device the batch lives on."""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchaudio.compliance import kaldi

from mavilkit.datasets.transforms.audio import fbank_num_samples, normalize_fbank


class BatchedKaldiFbank(nn.Module):
    """Kaldi fbank of ``(B, L)`` waveforms in one batched pass, then pad-mask and normalise.

    Equals, clip by clip, ``torchaudio.compliance.kaldi.fbank(w, htk_compat=True,
    sample_frequency=sample_rate, use_energy=False, window_type='hanning',
    num_mel_bins=num_mel_bins, dither=0.0, frame_shift=frame_shift)`` of the mean-removed
    waveform ``w`` followed by ``AudioFbank``'s zero padding / cropping to ``target_length`` and
    ``(x - mean) / (2 · std)`` (``mavilkit.datasets.transforms.AudioFbank``). Kaldi's other
    defaults apply as in torchaudio: 25 ms frames without edge padding, per-frame DC removal,
    pre-emphasis 0.97, power spectrum of a 512-point FFT, log floored at float32 epsilon.
    The window and the mel filters are torchaudio's own (``kaldi._feature_window_function``,
    ``kaldi.get_mel_banks``); only the batching is re-implemented.

    The waveforms come from ``PrepareWaveform``: mean already removed over the whole clip,
    zero-padded or cropped to ``fbank_num_samples(target_length)`` samples. Frames at or beyond
    a clip's ``num_frames`` (those the unpadded waveform does not give) are set to 0 before
    normalisation, as ``AudioFbank`` pads them.

    Args:
        sample_rate (int): Hz. Defaults to 16000.
        num_mel_bins (int): Defaults to 128.
        frame_shift (float): ms. Defaults to 10.
        frame_length (float): ms. Defaults to 25.
        target_length (int): output frames. Defaults to 1024.
        mean (float, optional): dataset mean; None skips normalisation. Defaults to AudioSet's.
        std (float): dataset std. Defaults to AudioSet's.
        preemphasis (float): Kaldi's pre-emphasis coefficient. Defaults to 0.97 (torchaudio's).
    """
    window: torch.Tensor  # buffers, typed for mypy (register_buffer is untyped)
    mel_banks_t: torch.Tensor

    def __init__(self, sample_rate: int = 16000, num_mel_bins: int = 128,
                 frame_shift: float = 10., frame_length: float = 25.,
                 target_length: int = 1024, mean: Optional[float] = -4.268, std: float = 4.569,
                 preemphasis: float = 0.97):
        super().__init__()
        self.sample_rate = sample_rate
        self.num_mel_bins = num_mel_bins
        self.frame_shift = frame_shift
        self.frame_length = frame_length
        self.target_length = target_length
        self.mean = mean
        self.std = std
        self.preemphasis = preemphasis
        self.shift = int(sample_rate * frame_shift / 1000)
        self.window_size = int(sample_rate * frame_length / 1000)
        self.padded_window_size = 1 << (self.window_size - 1).bit_length()
        self.num_samples = fbank_num_samples(target_length, sample_rate, frame_shift,
                                             frame_length)
        window = kaldi._feature_window_function('hanning', self.window_size, 0.42,
                                                torch.device('cpu'), torch.float32)
        mel_banks, _ = kaldi.get_mel_banks(num_mel_bins, self.padded_window_size,
                                           float(sample_rate), 20.0, 0.0, 100.0, -500.0, 1.0)
        # torchaudio pads the banks with a zero column for the Nyquist bin.
        mel_banks = F.pad(mel_banks.float(), (0, 1))
        self.register_buffer('window', window, persistent=False)
        self.register_buffer('mel_banks_t', mel_banks.T.contiguous(), persistent=False)

    def log_mel(self, waveforms: torch.Tensor) -> torch.Tensor:
        """Log-mel energies ``(B, frames, num_mel_bins)`` of float32 waveforms ``(B, L)``."""
        frames = waveforms.unfold(-1, self.window_size, self.shift)  # (B, m, window)
        frames = frames - frames.mean(dim=-1, keepdim=True)
        if self.preemphasis:
            previous = torch.cat([frames[..., :1], frames[..., :-1]], dim=-1)
            frames = frames - self.preemphasis * previous
        frames = frames * self.window
        frames = F.pad(frames, (0, self.padded_window_size - self.window_size))
        power = torch.fft.rfft(frames).abs().pow(2.0)
        mel = torch.matmul(power, self.mel_banks_t)
        return mel.clamp_min(torch.finfo(torch.float32).eps).log()

    def forward(self, waveforms: torch.Tensor,
                num_frames: Optional[Sequence[int]] = None,
                normalize: bool = True) -> torch.Tensor:
        """``(B, L)`` waveforms (any float dtype) → ``(B, 1, target_length, num_mel_bins)``.

        Args:
            waveforms: ``(B, L)`` or ``(B, 1, L)``, ``L = fbank_num_samples(target_length)``.
            num_frames: per clip, the fbank frames of its unpadded waveform (``PrepareWaveform``
                records them); frames from there on become 0. None keeps every frame.
            normalize: apply ``(x - mean) / (2 · std)``. False returns the padded log-mel
                fbank, for augmentations that act before normalisation (SpecAugment);
                :meth:`normalize` then finishes.

        Raises:
            ValueError: when the waveforms are not ``L`` samples long.
        """
        if waveforms.dim() == 3:
            waveforms = waveforms.squeeze(1)
        if waveforms.dim() != 2 or waveforms.shape[-1] != self.num_samples:
            raise ValueError(
                f'BatchedKaldiFbank expects (B, {self.num_samples}) waveforms '
                f'({self.target_length} frames at {self.sample_rate} Hz, made by '
                f'PrepareWaveform), got {tuple(waveforms.shape)}')
        fbank = self.log_mel(waveforms.float())
        if num_frames is not None:
            valid = torch.as_tensor(list(num_frames), dtype=torch.long)
            valid = valid.to(fbank.device, non_blocking=True)
            keep = torch.arange(fbank.shape[1], device=fbank.device)[None] < valid[:, None]
            fbank = fbank * keep[..., None]
        if normalize:
            fbank = self.normalize(fbank)
        return fbank[:, None]

    def normalize(self, fbank: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / (2 · std)`` (``normalize_fbank``); identity when ``mean`` is None."""
        return fbank if self.mean is None else normalize_fbank(fbank, self.mean, self.std)

    def extra_repr(self) -> str:
        return (f'sample_rate={self.sample_rate}, num_mel_bins={self.num_mel_bins}, '
                f'frame_shift={self.frame_shift}, target_length={self.target_length}, '
                f'mean={self.mean}, std={self.std}')
