"""Transforms of the data pipeline on real files written by the tests."""
import numpy as np
import pytest
import torch
import torchaudio

from data_helpers import write_audio_mp4, write_mp4, write_wav
from mavilkit.datasets.errors import MediaReadError
from mavilkit.datasets.transforms import (AudioAddNoise, AudioFbank, AudioRandomRoll, LoadAudio,
                                          PackAVInputs, SampleVideoFrames, SpecAugment, VideoFlip,
                                          VideoRandomResizedCrop, VideoResizeCenterCrop)
from mavilkit.registry import TRANSFORMS
from mavilkit.utils.setup_env import register_all_modules


@pytest.fixture(scope='module')
def clip10(tmp_path_factory):
    """A real 10 s, 25 fps, 64×64 clip with AAC audio."""
    path = tmp_path_factory.mktemp('clips') / 'clip10.mp4'
    write_mp4(path, duration=10., fps=25, size=64, class_ids=(0, 2))
    return str(path)


def test_fbank_matches_independent_computation():
    rng = np.random.default_rng(0)
    wave = (0.1 * rng.standard_normal(16000 * 3) + 0.05).astype(np.float32)
    out = AudioFbank()(dict(waveform=wave, sample_rate=16000))['audio']
    # independent: Audio-MAE / AST recipe written out
    w = torch.from_numpy(wave)[None]
    ref = torchaudio.compliance.kaldi.fbank(
        w - w.mean(), htk_compat=True, sample_frequency=16000, use_energy=False,
        window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10)
    assert ref.shape == (298, 128)  # 1 + (48000 - 400) // 160
    ref = torch.nn.ZeroPad2d((0, 0, 0, 1024 - 298))(ref)
    ref = (ref - (-4.268)) / (4.569 * 2)
    assert out.shape == (1024, 128) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-5, atol=1e-5)
    # the padded frames are zeros before normalisation
    np.testing.assert_allclose(out[500], 4.268 / (2 * 4.569), rtol=1e-6)


def test_fbank_defaults_are_the_papers():
    t = AudioFbank()
    assert (t.target_length, t.num_mel_bins, t.frame_shift) == (1024, 128, 10.)
    assert (t.mean, t.std) == (-4.268, 4.569)
    from mavilkit.datasets.transforms import FBANK_STATS
    assert FBANK_STATS == dict(audioset=(-4.268, 4.569), vggsound=(-5.189, 3.260),
                               esc50=(-6.627, 5.359), speechcommands=(-6.702, 5.448))


def test_fbank_crops_long_audio_from_start():
    wave = np.random.default_rng(1).standard_normal(16000 * 12).astype(np.float32)
    full = AudioFbank(target_length=2000, mean=None)(dict(waveform=wave))['audio']
    out = AudioFbank(mean=None)(dict(waveform=wave))['audio']
    assert out.shape == (1024, 128)
    np.testing.assert_array_equal(out, full[:1024])


def test_silent_audio_gives_finite_fbank():
    out = AudioFbank()(dict(waveform=np.zeros(16000 * 10, np.float32)))['audio']
    assert np.isfinite(out).all()


def test_load_audio_from_clip_and_fbank_shape(clip10):
    results = LoadAudio()(dict(filename=clip10))
    wave = results['waveform']
    assert results['sample_rate'] == 16000 and wave.dtype == np.float32 and wave.ndim == 1
    # AAC adds a little priming / padding; the 10 s must be there
    assert 160000 <= wave.size <= 160000 + 2048
    pyav = LoadAudio(backend='pyav')(dict(filename=clip10))['waveform']
    assert abs(pyav.size - wave.size) <= 2048
    audio = AudioFbank()(results)['audio']
    packed = PackAVInputs()(dict(audio=audio))
    assert packed['inputs']['audio'].shape == (1, 1024, 128)


@pytest.mark.parametrize('backend', ['auto', 'pyav', 'decord'])
def test_load_audio_stereo_44k_clip_is_channel_mean_at_16k(tmp_path, backend):
    # YouTube-like audio: 44.1 kHz stereo AAC with different channels
    t = np.arange(10 * 44100) / 44100
    left, right = 0.5 * np.sin(2 * np.pi * 440 * t), 0.3 * np.sin(2 * np.pi * 1000 * t)
    path = write_audio_mp4(tmp_path / 'stereo.mp4', np.stack([left, right]), 44100)
    wave = LoadAudio(backend=backend)(dict(filename=path))['waveform']
    assert abs(wave.size - 160000) <= 2048 and wave.dtype == np.float32
    # independent: mono = (L + R) / 2 (as for wav files), evaluated at 16 kHz
    t16 = np.arange(wave.size) / 16000
    expected = (0.5 * np.sin(2 * np.pi * 440 * t16) + 0.3 * np.sin(2 * np.pi * 1000 * t16)) / 2
    middle = slice(16000, 144000)
    rms = np.sqrt(np.mean(wave[middle].astype(np.float64) ** 2))
    assert abs(rms / np.sqrt(np.mean(expected[middle] ** 2)) - 1) < 0.01
    if backend != 'decord':  # PyAV is sample-aligned with the source; decord lags ~1 ms
        err = np.sqrt(np.mean((wave[middle] - expected[middle]) ** 2))
        assert err < 0.05 * rms  # AAC coding error; a 1 ms lag would give ~100 %


def test_load_audio_auto_tries_pyav_then_decord(clip10, monkeypatch):
    import mavilkit.datasets.transforms.loading as loading
    calls = []
    pyav, decord = loading.read_audio_pyav, loading.read_audio_decord
    monkeypatch.setattr(loading, 'read_audio_pyav',
                        lambda *a: calls.append('pyav') or pyav(*a))
    monkeypatch.setattr(loading, 'read_audio_decord',
                        lambda *a: calls.append('decord') or decord(*a))
    by_pyav = LoadAudio()(dict(filename=clip10))['waveform']
    assert calls == ['pyav']

    def broken(*args):
        calls.append('pyav')
        raise OSError('simulated PyAV failure')

    monkeypatch.setattr(loading, 'read_audio_pyav', broken)
    calls.clear()
    by_decord = LoadAudio()(dict(filename=clip10))['waveform']
    assert calls == ['pyav', 'decord']
    np.testing.assert_allclose(by_decord, by_pyav, atol=1e-5)  # mono source: same samples


def test_load_audio_from_wav_resamples_to_mono_16k(tmp_path):
    path = write_wav(tmp_path / 'a.wav', duration=1., sample_rate=8000, freq=500., channels=2)
    wave = LoadAudio()(dict(audio_path=path, filename='unused.mp4'))['waveform']
    assert wave.shape == (16000, )
    # the tone is still at 500 Hz after resampling
    spectrum = np.abs(np.fft.rfft(wave))
    assert abs(np.argmax(spectrum) * 16000 / wave.size - 500) < 2


def test_frame_indices_10s_25fps_at_2fps(clip10, monkeypatch):
    t = SampleVideoFrames()
    assert (t.clip_len, t.frame_rate) == (8, 2.)
    monkeypatch.setattr(np.random, 'uniform', lambda low, high, size: np.full(size, 1.3))
    results = t(dict(filename=clip10))
    # frame shown at 1.3 + i / 2 seconds of a 25 fps video: floor(25 * t)
    expected = [int(np.floor(25 * (1.3 + i / 2))) for i in range(8)]
    assert expected == [32, 45, 57, 70, 82, 95, 107, 120]
    assert results['frame_inds'].tolist() == [expected]
    assert results["imgs"].shape == (8, 64, 64, 3) and results['imgs'].dtype == np.uint8
    # test mode, one clip: the middle 4 s (start 3 s)
    results = SampleVideoFrames(test_mode=True)(dict(filename=clip10))
    assert results['frame_inds'].tolist() == [[75, 87, 100, 112, 125, 137, 150, 162]]


def test_random_start_anywhere_with_cyclic_wrap(clip10):
    np.random.seed(0)
    starts = []
    for _ in range(20):
        inds = SampleVideoFrames()(dict(filename=clip10))['frame_inds'][0]
        # 25 fps, 0.5 s apart: 12 or 13 frames on, cyclically over the 250 frames
        assert set(np.diff(inds) % 250) <= {12, 13}
        starts.append(inds[0])
    assert max(starts) > 150  # starts after 6 s exist (they wrap to the beginning)


def test_cyclic_wrap_for_short_clip(tmp_path):
    path = write_mp4(tmp_path / 'short.mp4', duration=2.5, fps=20, size=32)
    results = SampleVideoFrames(test_mode=True)(dict(filename=path))
    # 50 frames; a 4 s clip at 2 fps starting at 0 wraps after 2.5 s
    assert results['frame_inds'].tolist() == [[0, 10, 20, 30, 40, 0, 10, 20]]
    imgs = results['imgs']
    np.testing.assert_array_equal(imgs[5], imgs[0])
    assert not np.array_equal(imgs[1], imgs[0])


def test_multi_clip_test_view(clip10):
    results = SampleVideoFrames(num_clips=3, test_mode=True)(dict(filename=clip10))
    starts = results['frame_inds'][:, 0]
    # evenly from 0 to the 6 s of room: 0, 3, 6 s
    assert starts.tolist() == [0, 75, 150]
    results = VideoResizeCenterCrop(size=32)(results)
    packed = PackAVInputs()(results)
    assert packed['inputs']['video'].shape == (3, 3, 8, 32, 32)
    assert packed['inputs']['video'].dtype == torch.uint8
    # clip k of the packed tensor is frames k*8 .. k*8+7, channels first
    np.testing.assert_array_equal(packed['inputs']['video'][1, :, 2].permute(1, 2, 0).numpy(),
                                  results['imgs'][8 + 2])


def test_train_video_shape_is_3x8x224x224(clip10):
    results = SampleVideoFrames()(dict(filename=clip10))
    results = VideoFlip()(VideoRandomResizedCrop()(results))
    video = PackAVInputs()(results)['inputs']['video']
    assert video.shape == (3, 8, 224, 224) and video.dtype == torch.uint8


def test_random_resized_crop_scale_and_shared_box():
    t = VideoRandomResizedCrop(size=16)
    assert t.scale == (0.2, 1.0) and t.size == (16, 16)
    np.random.seed(0)
    areas = []
    for _ in range(200):
        y, x, h, w = t.crop_box(100, 120)
        assert 0 <= y and y + h <= 100 and 0 <= x and x + w <= 120
        areas.append(h * w / 12000)
    assert 0.19 <= min(areas) and max(areas) <= 1.01 and np.mean(areas) > 0.4
    imgs = np.random.default_rng(0).integers(0, 255, (4, 100, 120, 3), dtype=np.uint8)
    imgs[2] = imgs[0]
    out = t(dict(imgs=imgs))['imgs']
    assert out.shape == (4, 16, 16, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[2], out[0])  # same box for every frame


def test_resize_matches_per_frame_opencv():
    import cv2
    imgs = np.random.default_rng(0).integers(0, 255, (200, 20, 30, 3), dtype=np.uint8)
    out = VideoResizeCenterCrop(size=10)(dict(imgs=imgs))['imgs']
    ref = cv2.resize(imgs[123], (15, 10), interpolation=cv2.INTER_LINEAR)[:, 2:12]
    # OpenCV's many-channel path may round differently by one grey level
    np.testing.assert_allclose(out[123].astype(int), ref.astype(int), atol=1)


def test_flip():
    imgs = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)
    np.random.seed(0)
    flips = [VideoFlip()(dict(imgs=imgs.copy())) for _ in range(200)]
    assert 60 < sum(r['flip'] for r in flips) < 140
    flipped = next(r for r in flips if r['flip'])['imgs']
    np.testing.assert_array_equal(flipped[:, :, 0], imgs[:, :, 2])
    assert VideoFlip(flip_ratio=0.)(dict(imgs=imgs))['flip'] is False


def test_roll_is_cyclic_and_magnitude():
    wave = np.arange(100, dtype=np.float32)
    np.random.seed(3)
    out = AudioRandomRoll()(dict(waveform=wave.copy()))['waveform']
    shift = int(np.argmin(out))
    np.testing.assert_array_equal(out, np.roll(wave, shift))
    np.random.seed(3)
    scaled = AudioRandomRoll(magnitude_aug=True)(dict(waveform=wave + 1))['waveform']
    ratio = scaled / np.roll(wave + 1, shift)
    assert np.allclose(ratio, ratio[0]) and 0.5 <= ratio[0] <= 1.5


def test_noise_is_20db():
    wave = np.sin(np.linspace(0, 2000, 160000)).astype(np.float32)
    np.random.seed(0)
    out = AudioAddNoise()(dict(waveform=wave))['waveform']
    snr = 10 * np.log10(np.mean(wave ** 2) / np.mean((out - wave) ** 2))
    assert abs(snr - 20) < 0.1
    silent = AudioAddNoise()(dict(waveform=np.zeros(100, np.float32)))['waveform']
    assert not silent.any()


def test_specaugment_masks_one_band_each():
    torch.manual_seed(0)
    t = SpecAugment()
    assert (t.time_mask_param, t.freq_mask_param) == (192, 48)
    spec = np.ones((1024, 128), np.float32)
    masked_rows, masked_cols = [], []
    for _ in range(30):
        out = SpecAugment(time_mask_param=192, freq_mask_param=48)(dict(audio=spec))['audio']
        rows = np.where((out == 0).all(axis=1))[0]
        cols = np.where((out == 0).all(axis=0))[0]
        assert len(rows) < 192 and len(cols) < 48
        if len(rows):
            assert np.all(np.diff(rows) == 1)  # one contiguous band
        masked_rows.append(len(rows))
        masked_cols.append(len(cols))
    assert max(masked_rows) > 20 and max(masked_cols) > 5


def test_decode_errors_become_media_read_error(tmp_path):
    empty = tmp_path / 'empty.mp4'
    empty.write_bytes(b'')
    with pytest.raises(MediaReadError, match='empty.mp4'):
        LoadAudio()(dict(filename=str(empty)))
    with pytest.raises(MediaReadError, match='empty.mp4'):
        SampleVideoFrames()(dict(filename=str(empty)))
    no_audio = write_mp4(tmp_path / 'noaudio.mp4', with_audio=False)
    with pytest.raises(MediaReadError, match='no audio stream'):
        LoadAudio()(dict(filename=no_audio))
    bad_wav = tmp_path / 'bad.wav'
    bad_wav.write_bytes(b'RIFF0000WAVE')
    with pytest.raises(MediaReadError, match='bad.wav'):
        LoadAudio()(dict(audio_path=str(bad_wav)))


def test_transforms_are_registered():
    register_all_modules()
    for name in ('LoadAudio', 'SampleVideoFrames', 'AudioFbank', 'AudioRandomRoll',
                 'AudioAddNoise', 'SpecAugment', 'VideoRandomResizedCrop', 'VideoFlip',
                 'VideoResizeCenterCrop', 'PackAVInputs'):
        assert TRANSFORMS.get(name) is not None, name


def test_undecodable_frames_and_cut_audio_are_detected(tmp_path, clip10):
    data = bytearray(open(clip10, 'rb').read())
    n = len(data)
    noise = np.random.default_rng(0).integers(0, 256, n // 2, np.uint8).tobytes()
    data[n // 4:n // 4 + n // 2] = noise  # header (moov at the end) intact, payload garbage
    path = tmp_path / 'corrupt.mp4'
    path.write_bytes(bytes(data))
    with pytest.raises(MediaReadError, match='cannot decode frames'):
        SampleVideoFrames(test_mode=True)(dict(filename=str(path)))
    with pytest.raises(MediaReadError, match=r'declares 10.00 s but only'):
        LoadAudio()(dict(filename=str(path)))
