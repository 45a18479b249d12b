"""Issue 11 §1 and §3: per-sample waveform mixup, SpecAugment before normalisation and 20 dB
spectrogram noise, on the device fbank and in the worker transforms.

Every expected value is computed here independently: torchaudio's Kaldi fbank of the mixed
waveform, Beta(10, 10) moments, the normalised zero of the AudioSet statistics written out by
hand, and the SNR from its definition.
"""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from torchaudio.compliance import kaldi

from mavilkit.datasets.transforms import (AudioFbank, PackAVInputs, PrepareWaveform, SpecAugment,
                                          SpectrogramNoise)
from mavilkit.models.data_preprocessors import AVDataPreprocessor
from mavilkit.structures import AVDataSample

AS_MEAN, AS_STD = -4.268, 4.569
#: (0 - (-4.268)) / (2 * 4.569), worked out by hand: a masked bin after normalisation.
AS_NORMALISED_ZERO = 0.467061


def _signal(num_samples: int, seed: int) -> np.ndarray:
    """Tones with vibrato plus noise, with a non-zero mean (removed by the recipe)."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / 16000
    wave = sum(0.2 * np.sin(2 * np.pi * f * t + 2 * np.sin(2 * np.pi * 3 * t))
               for f in rng.uniform(200, 6000, 3))
    return (wave + 0.05 * rng.standard_normal(t.size) + 0.01).astype(np.float32)


def _kaldi(wave: np.ndarray, target_length: int, mean=AS_MEAN, std=AS_STD) -> torch.Tensor:
    """AST / Audio-MAE's fbank written out: mean removal, torchaudio Kaldi fbank, zero pad at the
    end, (x - mean) / (2 std)."""
    w = torch.from_numpy(np.asarray(wave, np.float32))[None]
    fbank = kaldi.fbank(w - w.mean(), htk_compat=True, sample_frequency=16000, use_energy=False,
                        window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)
    fbank = F.pad(fbank, (0, 0, 0, max(0, target_length - fbank.shape[0])))[:target_length]
    return (fbank - mean) / (2 * std)


def _device_batch(waves, target_length, num_classes=4, video=None):
    samples = []
    for i, wave in enumerate(waves):
        results = PrepareWaveform(target_length)(dict(waveform=wave, sample_rate=16000))
        if video is not None:
            results.update(imgs=video[i], clip_len=video[i].shape[0], num_clips=1)
        results.update(gt_label=[i % num_classes], num_classes=num_classes)
        samples.append(PackAVInputs()(results))
    return pseudo_collate(samples)


def test_mixup_is_a_rate_with_beta10_lambda():
    """4,096 samples: about half unmixed; mixed λ has Beta(10, 10)'s mean 1/2 and variance
    1/84; labels are λ·y₁ + (1−λ)·y₂ with a partner other than the sample itself."""
    torch.manual_seed(0)
    n, num_classes = 4096, 4
    rng = np.random.default_rng(0)
    waves = list(rng.standard_normal((n, 720)).astype(np.float32))  # 3 Kaldi frames each
    pre = AVDataPreprocessor(fbank=dict(target_length=3), mixup_prob=0.5, mixup_beta=10.)
    out = pre(_device_batch(waves, 3, num_classes), training=True)
    samples = out['data_samples']
    lam = torch.tensor([s.mixup_lambda for s in samples], dtype=torch.float64)
    partner = torch.tensor([s.mixup_partner for s in samples])
    mixed = lam < 1
    # Binomial(4096, 1/2): sd 32 samples; 4 sd
    assert abs(int((~mixed).sum()) - n / 2) < 4 * math.sqrt(n / 4)
    assert torch.equal(partner[~mixed], torch.arange(n)[~mixed])
    assert not (partner[mixed] == torch.arange(n)[mixed]).any()
    m = int(mixed.sum())
    var = 1 / 84  # a b / ((a + b)^2 (a + b + 1)) with a = b = 10
    fourth = var ** 2 * (3 - 6 / 23)  # Beta(a, a) excess kurtosis -6 / (2a + 3)
    lam_mixed = lam[mixed]
    assert abs(float(lam_mixed.mean()) - 0.5) < 4 * math.sqrt(var / m)
    assert abs(float(lam_mixed.var()) - var) < 4 * math.sqrt((fourth - var ** 2) / m)
    onehot = F.one_hot(torch.arange(n) % num_classes, num_classes).double()
    expected = lam[:, None] * onehot + (1 - lam[:, None]) * onehot[partner]
    got = torch.stack([s.gt_score for s in samples]).double()
    assert torch.allclose(got, expected, atol=1e-6)
    # nothing is mixed outside training
    plain = pre(_device_batch(waves[:8], 3, num_classes), training=False)['data_samples']
    assert all('mixup_lambda' not in s for s in plain)


def test_mixed_fbank_is_the_fbank_of_the_mixed_waveform():
    """Every sample mixed (mixup_prob=1): its fbank equals torchaudio's Kaldi fbank of
    λ·w₁ + (1−λ)·w₂ (mean-removed waveforms, the shorter one zero-padded), its frames are
    λ·v₁ + (1−λ)·v₂, and its label λ·y₁ + (1−λ)·y₂."""
    torch.manual_seed(1)
    target = 1024
    lengths = [160000, 160000, 96000, 164080]  # 10 s, 10 s, 6 s, exactly 1024 frames
    waves = [_signal(length, seed) for seed, length in enumerate(lengths)]
    rng = np.random.default_rng(1)
    video = [rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8) for _ in waves]
    pre = AVDataPreprocessor(fbank=dict(target_length=target, mean=AS_MEAN, std=AS_STD),
                             mixup_prob=1., mixup_beta=10.)
    out = pre(_device_batch(waves, target, video=video), training=True)
    audio, frames = out['inputs']['audio'], out['inputs']['video']
    assert audio.shape == (4, 1, target, 128)
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1, 1)
    for i, sample in enumerate(out['data_samples']):
        lam, j = sample.mixup_lambda, sample.mixup_partner
        assert 0 < lam < 1 and j != i
        # float32 as the data path: in float64 the near-silent low bins (pre-emphasis removes
        # their energy) differ by up to 3e-4 through rounding alone
        w1, w2 = (torch.from_numpy(w) - torch.from_numpy(w).mean() for w in (waves[i], waves[j]))
        length = max(w1.numel(), w2.numel())
        w1, w2 = F.pad(w1, (0, length - w1.numel())), F.pad(w2, (0, length - w2.numel()))
        lam32 = torch.tensor(lam, dtype=torch.float32)
        expected = _kaldi((lam32 * w1 + (1 - lam32) * w2).numpy(), target)
        error = (audio[i, 0] - expected).abs()
        assert error.max() < 2e-4 and error.mean() < 1e-5
        v = lam * torch.from_numpy(video[i]).float() + (1 - lam) * torch.from_numpy(
            video[j]).float()
        expected_v = (v.permute(3, 0, 1, 2) - mean) / std
        assert torch.allclose(frames[i], expected_v, atol=1e-4)
        score = torch.zeros(4)
        score[i] += lam
        score[j] += 1 - lam
        assert torch.allclose(sample.gt_score, score, atol=1e-6)


def test_unmixed_samples_are_untouched():
    torch.manual_seed(2)
    waves = [_signal(32000, s) for s in range(6)]
    pre = AVDataPreprocessor(fbank=dict(target_length=256), mixup_prob=0.5)
    out = pre(_device_batch(waves, 256), training=True)
    plain = pre(_device_batch(waves, 256), training=False)['inputs']['audio']
    kept = [i for i, s in enumerate(out['data_samples']) if s.mixup_lambda == 1.]
    assert kept and len(kept) < 6  # this seed mixes some and keeps some
    for i in kept:
        assert torch.equal(out['inputs']['audio'][i], plain[i])
        assert out['data_samples'][i].gt_score[i % 4] == 1.


def test_waveform_mixup_needs_the_device_fbank():
    fbank = torch.zeros(1, 8, 6)
    samples = [dict(inputs=dict(audio=fbank),
                    data_samples=AVDataSample().set_gt_score(torch.ones(2)))] * 2
    with pytest.raises(ValueError, match='PrepareWaveform'):
        AVDataPreprocessor(mixup_prob=0.5)(pseudo_collate(samples), training=True)
    with pytest.raises(ValueError, match='choose one mixup'):
        AVDataPreprocessor(mixup_prob=0.5, mixup_alpha=0.5)
    with pytest.raises(ValueError, match='fbank=dict'):
        AVDataPreprocessor(spec_augment=dict(time_mask_param=4))
    with pytest.raises(ValueError, match='mixup_prob'):
        AVDataPreprocessor(mixup_prob=1.5)


def _check_bands(train: torch.Tensor, plain: torch.Tensor, value: float, max_t: int,
                 max_f: int) -> int:
    """Bins that SpecAugment changed hold ``value`` and lie in one time band (all bins) and one
    frequency band (all frames) no wider than the limits; returns the number of changed bins."""
    changed = ~torch.isclose(train, plain, atol=1e-6)
    assert torch.allclose(train[changed], torch.full_like(train[changed], value), atol=1e-5)
    pinned = torch.isclose(train, torch.full_like(train, value), atol=1e-5)
    # fully masked frames / bins that the mask changed (padding frames already hold the value)
    rows = torch.nonzero(pinned.all(dim=1) & changed.any(dim=1)).flatten()
    cols = torch.nonzero(pinned.all(dim=0) & changed.any(dim=0)).flatten()
    for band, limit in ((rows, max_t), (cols, max_f)):
        if len(band):
            assert int(band[-1] - band[0]) + 1 == len(band) < limit  # contiguous
    # a changed bin is in a masked frame or a masked frequency bin
    in_band = torch.zeros_like(changed)
    in_band[rows] = True
    in_band[:, cols] = True
    assert not (changed & ~in_band).any()
    return int(changed.sum())


def test_specaugment_masks_before_normalisation_on_the_device():
    """A masked bin holds 0 before normalisation: +0.467 after it with AudioSet statistics."""
    torch.manual_seed(3)
    waves = [_signal(160000, s) for s in range(4)]
    pre = AVDataPreprocessor(fbank=dict(target_length=1024, mean=AS_MEAN, std=AS_STD),
                             spec_augment=dict(time_mask_param=192, freq_mask_param=48))
    train = pre(_device_batch(waves, 1024), training=True)['inputs']['audio']
    plain = pre(_device_batch(waves, 1024), training=False)['inputs']['audio']
    for i in range(4):  # validation is the plain fbank
        assert (plain[i, 0] - _kaldi(waves[i], 1024)).abs().max() < 2e-4
    changed = sum(_check_bands(train[i, 0], plain[i, 0], AS_NORMALISED_ZERO, 192, 48)
                  for i in range(4))
    assert changed > 1000


def test_specaugment_transform_fills_the_normalised_zero():
    """The worker path gives the same masked value: AudioFbank normalises, SpecAugment after it
    fills with the normalised zero (equal to masking first)."""
    torch.manual_seed(4)
    total = 0
    for seed in range(3):
        results = AudioFbank(1024, mean=AS_MEAN, std=AS_STD)(
            dict(waveform=_signal(160000, seed), sample_rate=16000))
        plain = torch.from_numpy(results['audio'].copy())
        masked = torch.from_numpy(SpecAugment(192, 48)(results)['audio'])
        total += _check_bands(masked, plain, AS_NORMALISED_ZERO, 192, 48)
    assert total > 1000
    # without normalisation a masked bin holds 0
    raw = AudioFbank(256, mean=None)(dict(waveform=_signal(32000, 9), sample_rate=16000))
    plain = torch.from_numpy(raw['audio'].copy())
    masked = torch.from_numpy(SpecAugment(64, 64)(raw)['audio'])
    assert _check_bands(masked, plain, 0., 64, 64) > 0


def _snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> float:
    """Definition: power of the spectrogram over power of what was added, in dB."""
    clean, noisy = clean.double(), noisy.double()
    return 10 * math.log10(float(clean.pow(2).mean() / (noisy - clean).pow(2).mean()))


def test_spectrogram_noise_is_20db_snr():
    torch.manual_seed(5)
    results = AudioFbank(1024, mean=AS_MEAN, std=AS_STD)(
        dict(waveform=_signal(160000, 0), sample_rate=16000))
    clean = torch.from_numpy(results['audio'].copy())
    noisy = torch.from_numpy(SpectrogramNoise(snr_db=20.)(results)['audio'])
    # 131,072 i.i.d. draws: the measured noise power is within about 1 % of its expectation
    assert abs(_snr_db(clean, noisy) - 20.) < 0.1
    noise = (noisy - clean).double()
    assert abs(float(noise.mean())) < 4 * float(noise.std()) / math.sqrt(noise.numel())
    # on the device: the same SNR for each clip, on top of the plain fbank
    waves = [_signal(160000, s) for s in range(3)]
    pre = AVDataPreprocessor(fbank=dict(target_length=1024, mean=AS_MEAN, std=AS_STD),
                             noise_snr_db=20.)
    train = pre(_device_batch(waves, 1024), training=True)['inputs']['audio']
    plain = pre(_device_batch(waves, 1024), training=False)['inputs']['audio']
    for i in range(3):
        assert abs(_snr_db(plain[i], train[i]) - 20.) < 0.1
    with pytest.raises(ValueError, match='SpectrogramNoise needs'):
        SpectrogramNoise()(PrepareWaveform(256)(dict(waveform=waves[0], sample_rate=16000)))
