"""Helpers that write tiny real media files and annotation files for tests.

Every function writes real files (H.264 + AAC mp4 via PyAV, wav via soundfile) so tests run the
real decoding code paths. Typical use::

    from data_helpers import make_demo_data, write_mp4, write_wav

    root = make_demo_data(tmp_path, num_clips=4, duration=2.)   # AudioSet layout, 4 clips
    write_mp4(tmp_path / 'a.mp4', duration=2.5, fps=25)          # one clip
    write_audio_mp4(tmp_path / 's.mp4', np.zeros((2, 44100)))    # stereo AAC only
    write_wav(tmp_path / 'a.wav', duration=1.)                   # one wav
"""
import os
from typing import Iterable, Optional, Sequence, Tuple

import numpy as np

from mavilkit.testing import CLASSES, make_demo_dataset, render_clip
from mavilkit.testing import write_mp4 as _write_mp4


def write_mp4(path, duration: float = 2., fps: int = 10, size: int = 32,
              with_audio: bool = True, with_video: bool = True, silent: bool = False,
              sample_rate: int = 16000, class_ids: Sequence[int] = (0,), seed: int = 0) -> str:
    """Write a demo-style clip (H.264 ``size``×``size`` at ``fps`` + 16 kHz mono AAC).

    Args:
        path: output file.
        duration: seconds of video and audio.
        fps: video frame rate.
        size: frame height and width (even).
        with_audio / with_video: drop a stream to make audio-only / video-only files.
        silent: write an all-zero audio track.
        class_ids: demo classes drawn (see ``mavilkit.testing.demo_clips``).
        seed: random seed of the drawing.

    Returns:
        str: the path.
    """
    frames, wave = render_clip(class_ids, duration, fps, size, sample_rate, seed)
    if silent:
        wave = np.zeros_like(wave)
    _write_mp4(str(path), frames if with_video else None, fps,
               wave if with_audio else None, sample_rate)
    return str(path)


def write_audio_mp4(path, waveform: np.ndarray, sample_rate: int = 44100) -> str:
    """Write an AAC-only mp4 of a float ``(C, L)`` waveform (C = 1 or 2) in [-1, 1]."""
    import av
    waveform = np.asarray(waveform, np.float32)
    layout = {1: 'mono', 2: 'stereo'}[waveform.shape[0]]
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('aac', rate=sample_rate, layout=layout)
        for start in range(0, waveform.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(
                waveform[:, start:start + 1024]), format='fltp', layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return str(path)


def write_wav(path, duration: float = 1., sample_rate: int = 16000, freq: float = 440.,
              channels: int = 1, waveform: Optional[np.ndarray] = None) -> str:
    """Write a 16-bit wav of a sine tone (or of ``waveform``, shape ``(L,)`` or ``(L, C)``)."""
    import soundfile
    if waveform is None:
        t = np.arange(int(round(duration * sample_rate))) / sample_rate
        waveform = 0.5 * np.sin(2 * np.pi * freq * t)
        if channels > 1:
            waveform = np.stack([waveform] * channels, axis=1)
    soundfile.write(str(path), waveform, sample_rate, subtype='PCM_16')
    return str(path)


def write_truncated(src, dst, keep_fraction: float = 0.3) -> str:
    """Copy the first ``keep_fraction`` of the bytes of ``src`` to ``dst`` (a cut download)."""
    with open(src, 'rb') as f:
        data = f.read()
    with open(dst, 'wb') as f:
        f.write(data[:int(len(data) * keep_fraction)])
    return str(dst)


def write_garbage(path, num_bytes: int = 0, seed: int = 0) -> str:
    """Write ``num_bytes`` random bytes (0: an empty file)."""
    with open(path, 'wb') as f:
        f.write(np.random.default_rng(seed).integers(0, 256, num_bytes, np.uint8).tobytes())
    return str(path)


def write_label_file(path, names: Iterable[Tuple[str, str]] = CLASSES) -> str:
    """Write a ``class_labels_indices.csv`` from ``(mid, display_name)`` pairs."""
    with open(path, 'w') as f:
        f.write('index,mid,display_name\n')
        for i, (mid, name) in enumerate(names):
            f.write(f'{i},{mid},"{name}"\n')
    return str(path)


def write_segments_csv(path, rows: Iterable[Tuple[str, float, float, Sequence[str]]]) -> str:
    """Write an AudioSet segment CSV (comment header, spaces, quoted labels) from
    ``(ytid, start, end, [mid, ...])`` rows."""
    with open(path, 'w') as f:
        f.write('# Segments csv created Sun Mar  5 10:54:25 2017\n')
        f.write('# num_ytids=2, num_segs=2, num_unique_labels=2, num_positive_labels=3\n')
        f.write('# YTID, start_seconds, end_seconds, positive_labels\n')
        for ytid, start, end, mids in rows:
            f.write(f'{ytid}, {start:.3f}, {end:.3f}, "{",".join(mids)}"\n')
    return str(path)


def make_demo_data(root, num_clips: int = 4, duration: float = 2., fps: int = 10,
                   size: int = 32, seed: int = 0) -> str:
    """Write a small demo dataset (AudioSet layout, see ``make_demo_dataset``) under ``root``.

    Defaults are tiny (2 s, 32×32) so tests stay fast; the eval split gets a quarter of the
    clips (at least one). Returns ``root`` as a string.
    """
    root = str(root)
    os.makedirs(root, exist_ok=True)
    make_demo_dataset(root, num_clips=num_clips, duration=duration, fps=fps, size=size,
                      seed=seed)
    return root


def demo_dataset_cfg(root, pipeline=(), split: str = 'train', **kwargs) -> dict:
    """Config of an ``AudioSetDataset`` over a folder written by :func:`make_demo_data`."""
    ann = 'balanced_train_segments.csv' if split == 'train' else 'eval_segments.csv'
    folder = 'balanced_train' if split == 'train' else split
    return dict(type='AudioSetDataset', data_root=str(root), ann_file=ann,
                label_file='class_labels_indices.csv', data_prefix=dict(video=folder),
                pipeline=list(pipeline), **kwargs)


__all__ = ['write_mp4', 'write_audio_mp4', 'write_wav', 'write_truncated', 'write_garbage',
           'write_label_file', 'write_segments_csv', 'make_demo_data', 'demo_dataset_cfg']


def audio_recipe(cfg, pipeline: Sequence[dict]) -> dict:
    """The audio recipe of a config, whichever path computes the fbank (issue 11).

    Reads the worker transforms (``AudioFbank``, ``SpecAugment``, ``SpectrogramNoise``) or the
    data preprocessor's ``fbank`` / ``spec_augment`` / ``noise_snr_db``, and returns ``stats``
    ``(mean, std)``, ``target_length``, ``specaug`` ``(time, freq)`` or None, ``noise_snr_db``
    or None, ``mixup`` ``(prob, beta)``, ``magnitude_aug`` (of ``AudioRandomRoll``, None
    without one) and ``device`` (True for the device fbank).
    """
    steps = {t['type']: t for t in pipeline}
    pre = cfg.data_preprocessor
    device = pre.get('fbank') is not None
    if device:
        fbank, spec = pre['fbank'], pre.get('spec_augment')
        noise = pre.get('noise_snr_db')
        assert 'PrepareWaveform' in steps and 'AudioFbank' not in steps
        assert steps['PrepareWaveform']['target_length'] == fbank['target_length']
    else:
        fbank, spec = steps['AudioFbank'], steps.get('SpecAugment')
        noise = steps['SpectrogramNoise']['snr_db'] if 'SpectrogramNoise' in steps else None
    assert 'AudioAddNoise' not in steps  # Table 10's "N" is spectrogram noise
    roll = steps.get('AudioRandomRoll')
    return dict(stats=(fbank['mean'], fbank['std']), target_length=fbank['target_length'],
                specaug=(spec['time_mask_param'], spec['freq_mask_param']) if spec else None,
                noise_snr_db=noise, mixup=(pre.get('mixup_prob', 0.), pre.get('mixup_beta', 10.)),
                magnitude_aug=None if roll is None else roll.get('magnitude_aug', False),
                device=device)
