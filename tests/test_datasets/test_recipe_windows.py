"""Issue 11 §6 and §7 (data part): where the video and audio windows fall in a clip, and what
fraction the "20 %" fine-tuning masking really removes.

The videos are real H.264 files whose frames encode their own index in their colour, so the
times the pipeline picked are read back from the decoded pixels; the audio is a float wav ramp
whose sample values encode their own time.
"""
import numpy as np
import pytest
import soundfile
import torch
from mmengine.dataset import Compose

from mavilkit.datasets.transforms import SampleVideoFrames
from mavilkit.models.utils.masking import grid_masking
from mavilkit.testing import write_mp4
from mavilkit.utils import register_all_modules

register_all_modules()
SIZE = 32


def _colour(index):
    """RGB of frame ``index`` < 400: hundreds, tens and units 20 levels apart per channel."""
    index = np.asarray(index)
    return np.stack([20 + 20 * (index // 100), 20 + 20 * (index // 10 % 10),
                     20 + 20 * (index % 10)], axis=-1)


def _read_index(imgs):
    """Source frame index of each decoded ``(N, H, W, 3)`` frame, from its mean colour."""
    rgb = np.round((imgs.reshape(len(imgs), -1, 3).mean(axis=1) - 20) / 20).astype(int)
    return 100 * rgb[:, 0] + 10 * rgb[:, 1] + rgb[:, 2]


def _timed_video(path, duration, fps):
    n = int(round(duration * fps))
    frames = np.broadcast_to(_colour(np.arange(n))[:, None, None, :],
                             (n, SIZE, SIZE, 3)).astype(np.uint8)
    write_mp4(str(path), frames, fps)
    return str(path)


@pytest.fixture(scope='module')
def video10(tmp_path_factory):
    """10 s at 10 fps: frame ``k`` is shown during [k / 10, (k + 1) / 10) s."""
    return _timed_video(tmp_path_factory.mktemp('win') / 'v10.mp4', 10., 10)


def test_train_window_covers_the_whole_clip_evenly(video10):
    """Starts uniform in [0, 10) with cyclic wrap: each second of the clip holds on average
    8 × 1/10 = 0.8 of the 8 sampled frames per draw, the first and last seconds included.
    (The former rule, starts in [0, 6] without wrap, gave the last second 0.067 per draw.)"""
    np.random.seed(0)
    draws = 150
    counts = np.zeros(10)
    for _ in range(draws):
        imgs = SampleVideoFrames()(dict(filename=video10))['imgs']
        idx = _read_index(imgs)
        # consecutive frames are 0.5 s apart, cyclically
        assert np.all((np.diff(idx) % 100) == 5)
        counts += np.bincount(idx // 10, minlength=10)
    per_draw = counts / draws
    # a second holds 0, 1 or 2 of the frames of a draw: sd per draw <= 1, 4 sd over the draws
    assert np.all(np.abs(per_draw - 0.8) < 4 / np.sqrt(draws)), per_draw


def test_ten_test_clips_cover_first_and_last_seconds(video10):
    results = SampleVideoFrames(num_clips=10, test_mode=True)(dict(filename=video10))
    idx = _read_index(results['imgs']).reshape(10, 8)
    # independent: starts 0, 6/9, ..., 6 s (evenly from 0 to 10 - 4), frames every 0.5 s
    starts = 6. * np.arange(10) / 9
    expected = np.floor((starts[:, None] + np.arange(8) / 2) * 10 + 1e-6).astype(int)
    np.testing.assert_array_equal(idx, expected)
    assert idx[0, 0] == 0 and idx[-1, -1] == 95  # the first and the last second
    assert set(idx.reshape(-1) // 10) == set(range(10))  # every second is seen
    # one clip: the middle 4 s, as before
    one = SampleVideoFrames(test_mode=True)(dict(filename=video10))
    np.testing.assert_array_equal(_read_index(one['imgs']), 30 + 5 * np.arange(8))


@pytest.fixture(scope='module')
def clip30(tmp_path_factory):
    """A 30-s clip: video at 2 fps, audio a float wav whose sample at t seconds is t / 40."""
    root = tmp_path_factory.mktemp('ret')
    video = _timed_video(root / 'v30.mp4', 30., 2)
    audio = str(root / 'a30.wav')
    soundfile.write(audio, (np.arange(30 * 16000) / 16000 / 40).astype(np.float32), 16000,
                    subtype='FLOAT')
    return video, audio


RETRIEVAL_TEST = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=1, test_mode=True),
    dict(type='CenterAudioOnVideo', target_length=1024),
    dict(type='AudioFbank', target_length=1024, num_mel_bins=128, mean=-4.268, std=4.569),
]


def _windows(results):
    """(audio start, audio end) from the ramp's first / last kept samples, and (video start,
    video end) from the decoded frames (frame k of the 2-fps video is shown [k/2, k/2 + 0.5))."""
    wave = results['waveform']
    audio = (wave[0] * 40, wave[-1] * 40 + 1 / 16000)
    idx = _read_index(results['imgs'])
    return audio, (idx.min() / 2, idx.max() / 2 + 0.5), idx


def test_retrieval_audio_window_contains_the_video_window(clip30, monkeypatch):
    video, audio = clip30
    results = Compose(RETRIEVAL_TEST)(dict(filename=video, audio_path=audio))
    (a0, a1), (v0, v1), idx = _windows(results)
    np.testing.assert_array_equal(idx, np.arange(26, 34))  # the middle 4 s: 13 to 17 s
    assert a0 <= v0 and v1 <= a1
    assert abs((a0 + a1) / 2 - 15.) < 0.01 and abs(a1 - a0 - 164080 / 16000) < 0.01
    assert results['audio'].shape == (1024, 128)
    # a training window starting at 28 s wraps to the beginning: so does the audio
    monkeypatch.setattr(np.random, 'uniform', lambda low, high, size: np.full(size, 28.))
    train = [dict(t, test_mode=False) if t['type'] == 'SampleVideoFrames' else t
             for t in RETRIEVAL_TEST]
    out = Compose(train)(dict(filename=video, audio_path=audio))
    inds = _read_index(out['imgs'])
    np.testing.assert_array_equal(inds, [56, 57, 58, 59, 0, 1, 2, 3])  # 28 s to 32 s = 2 s
    times = out['waveform'] * 40  # one cyclic run centred on 30 s = 0 s
    assert abs(times[0] - (30 - 164080 / 32000)) < 2e-3
    assert abs(times[-1] - (164080 / 32000 - 1 / 16000)) < 2e-3
    covered = set(np.floor(times * 2 + 1e-6).astype(int).tolist())  # 0.5-s frames spanned
    assert set(inds.tolist()) <= covered
    # audio no longer than the window is kept whole
    from mavilkit.datasets.transforms import CenterAudioOnVideo
    short = CenterAudioOnVideo()(dict(waveform=np.ones(96000, np.float32), sample_rate=16000,
                                      clip_starts=np.array([1.]), clip_seconds=4.))
    assert short['waveform'].size == 96000 and short['audio_window'] == (0., 6.)


def test_ramp_survives_loading(clip30):
    """The audio reader keeps a 16 kHz mono float wav sample-exact (what the ramp relies on)."""
    from mavilkit.datasets.transforms import LoadAudio
    wave = LoadAudio(sample_rate=16000)(dict(audio_path=clip30[1]))['waveform']
    np.testing.assert_allclose(wave, np.arange(30 * 16000) / 16000 / 40, atol=1e-6)


# (grid, rows masked, cols masked, token fraction masked) at mask ratios (0.2, 0.2), by hand:
# keep round(n · 0.8) of each axis.
FINETUNE_GRIDS = {
    'audio 10 s (AS, VGGSound)': ((64, 8), 13, 2, 1 - 51 * 6 / 512),  # 20.3 %, 25 %; 40.2 %
    'audio 5 s (ESC-50)': ((32, 8), 6, 2, 1 - 26 * 6 / 256),  # 18.8 %, 25 %; 39.1 %
    'audio 1 s (SPC)': ((8, 8), 2, 2, 1 - 6 * 6 / 64),  # 25 %, 25 %; 43.8 %
    'video 4 s (8 frames)': ((4, 196), 1, 39, 1 - 3 * 157 / 784),  # 25 %, 19.9 %; 39.9 %
}


@pytest.mark.parametrize('name', list(FINETUNE_GRIDS))
def test_finetune_masking_real_fractions(name):
    (rows, cols), rows_masked, cols_masked, token_fraction = FINETUNE_GRIDS[name]
    ids_keep = grid_masking(64, (rows, cols), (0.2, 0.2),
                            generator=torch.Generator().manual_seed(0))
    for keep in ids_keep:
        kept_rows, kept_cols = set((keep // cols).tolist()), set((keep % cols).tolist())
        assert rows - len(kept_rows) == rows_masked and cols - len(kept_cols) == cols_masked
        assert abs(1 - len(keep) / (rows * cols) - token_fraction) < 1e-9
