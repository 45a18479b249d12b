"""The Kaldi fbank computed batched in the data preprocessor equals torchaudio's, clip by clip."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate
from torchaudio.compliance import kaldi

from data_helpers import write_audio_mp4
from mavilkit.datasets.transforms import (AudioFbank, LoadAudio, PackAVInputs, PrepareWaveform,
                                          SpecAugment)
from mavilkit.models.data_preprocessors import AVDataPreprocessor
from mavilkit.models.data_preprocessors.fbank import BatchedKaldiFbank

MEAN, STD, TARGET = -4.398, 4.200, 1024


def reference_fbank(waveform: np.ndarray, target_length: int = TARGET) -> torch.Tensor:
    """AST / Audio-MAE / MAViL's recipe written out here: mean removal, torchaudio's Kaldi fbank
    with htk_compat, hanning, 128 bins, no dither, no energy; zero pad / crop at the end; then
    (x - mean) / (2 std)."""
    wave = torch.from_numpy(waveform).float()[None]
    fbank = kaldi.fbank(wave - wave.mean(), htk_compat=True, sample_frequency=16000,
                        use_energy=False, window_type='hanning', num_mel_bins=128, dither=0.0,
                        frame_shift=10)
    fbank = F.pad(fbank, (0, 0, 0, max(0, target_length - fbank.shape[0])))[:target_length]
    return (fbank - MEAN) / (2 * STD)


def _stereo(duration, rate, seed):
    """Noise-like stereo music: a few tones with vibrato, a decaying chirp and noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(duration * rate)) / rate
    left = sum(0.1 * np.sin(2 * np.pi * f * t + 3 * np.sin(2 * np.pi * 5 * t))
               for f in rng.uniform(100, 6000, 4))
    right = 0.2 * np.sin(2 * np.pi * (300 + 400 * t) * t) * np.exp(-t / 3)
    noise = 0.02 * rng.standard_normal((2, t.size))
    return np.clip(np.stack([left, right]) + noise, -1, 1).astype(np.float32)


@pytest.fixture(scope='module')
def real_clips(tmp_path_factory):
    """AAC clips as downloads have them (44.1 / 48 kHz stereo): shorter than 10 s, 10 s, and
    longer than the 1024 frames (cropped), decoded by LoadAudio (FFmpeg resampler)."""
    root = tmp_path_factory.mktemp('fbank')
    paths = [write_audio_mp4(root / f'{i}.mp4', _stereo(d, r, i), sample_rate=r)
             for i, (d, r) in enumerate([(3.2, 44100), (10., 48000), (10.6, 44100)])]
    load = LoadAudio(sample_rate=16000, backend='pyav')
    return [load(dict(filename=p)) for p in paths]


def test_batched_fbank_equals_torchaudio_on_real_clips(real_clips):
    prepare = PrepareWaveform(target_length=TARGET)
    prepared = [prepare(dict(r)) for r in real_clips]
    assert [p['audio'].shape for p in prepared] == [(164080,)] * 3  # (1024 - 1) * 160 + 400
    # 3.2 s at 16 kHz: 1 + (51200 - 400) // 160 frames, 10 s about 998 (padded), 10.6 s about
    # 1058 (cropped).
    assert [p['audio_num_frames'] for p in prepared] == \
        [1 + (r['waveform'].size - 400) // 160 for r in real_clips]
    assert prepared[0]['audio_num_frames'] == 318
    assert prepared[1]['audio_num_frames'] < TARGET < prepared[2]['audio_num_frames']
    fbank = BatchedKaldiFbank(target_length=TARGET, mean=MEAN, std=STD)
    out = fbank(torch.from_numpy(np.stack([p['audio'] for p in prepared])),
                [p['audio_num_frames'] for p in prepared])
    assert out.shape == (3, 1, TARGET, 128)
    for got, clip in zip(out, real_clips):
        expected = reference_fbank(clip['waveform'])
        assert (got[0] - expected).abs().max() < 1e-4
    # padding frames are the normalised zero, as AudioFbank pads
    assert torch.allclose(out[0, 0, 318:], torch.full((TARGET - 318, 128), -MEAN / (2 * STD)))


def test_device_fbank_pipeline_matches_worker_fbank(real_clips):
    """The same clips through both pipelines and the data preprocessor."""
    worker = [PackAVInputs()(AudioFbank(TARGET, mean=MEAN, std=STD)(dict(r)))
              for r in real_clips]
    device = [PackAVInputs()(PrepareWaveform(TARGET)(dict(r))) for r in real_clips]
    assert device[0]['inputs']['audio'].shape == (164080,)
    assert device[0]['data_samples'].audio_num_frames == 318
    plain = AVDataPreprocessor()(pseudo_collate(worker))['inputs']['audio']
    on_device = AVDataPreprocessor(fbank=dict(target_length=TARGET, mean=MEAN, std=STD))(
        pseudo_collate(device))['inputs']['audio']
    assert on_device.shape == plain.shape == (3, 1, TARGET, 128)
    assert (on_device - plain).abs().max() < 1e-4


def test_device_fbank_errors(real_clips):
    preprocessor = AVDataPreprocessor(fbank=dict(target_length=TARGET))
    with pytest.raises(ValueError, match='164080'):
        preprocessor.fbank(torch.zeros(2, 16000))
    samples = [PackAVInputs()(PrepareWaveform(TARGET)(dict(r))) for r in real_clips[:2]]
    del samples[1]['data_samples'].audio_num_frames
    with pytest.raises(KeyError, match='PrepareWaveform'):
        preprocessor(pseudo_collate(samples))
    with pytest.raises(ValueError, match='16000 Hz'):
        PrepareWaveform(TARGET)(dict(real_clips[0], sample_rate=22050))
    with pytest.raises(ValueError, match='SpecAugment needs'):
        SpecAugment()(PrepareWaveform(TARGET)(dict(real_clips[0])))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_device_fbank_on_gpu(real_clips):
    prepared = [PrepareWaveform(TARGET)(dict(r)) for r in real_clips]
    fbank = BatchedKaldiFbank(target_length=TARGET, mean=MEAN, std=STD).cuda()
    out = fbank(torch.from_numpy(np.stack([p['audio'] for p in prepared])).cuda(),
                [p['audio_num_frames'] for p in prepared]).cpu()
    for got, clip in zip(out, real_clips):
        assert (got[0] - reference_fbank(clip['waveform'])).abs().max() < 1e-4
