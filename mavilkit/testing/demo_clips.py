"""A small synthetic audio-visual dataset in AudioSet's layout, for the demo and the tests.

Each class is an event whose picture and sound correspond, so that audio-video
correspondence can be learned:

====  ================  ======================================  ===============================
id    name              picture                                 sound
====  ================  ======================================  ===============================
0     Bouncing ball     red disc bouncing vertically            low thud (180 Hz) at each bounce
1     Sliding square    blue square moving left and right       tone whose pitch follows x
2     Flashing light    green square blinking at 2 Hz           noise bursts while it is lit
3     Spinning bar      yellow bar rotating                     tone pulsing twice per turn
====  ================  ======================================  ===============================

About a quarter of the clips show two events at once and carry both labels (multi-label, as in
AudioSet). Clips are real H.264 + AAC mp4 files written with PyAV (no system ffmpeg needed).
"""
import contextlib
import multiprocessing
import os
import os.path as osp
from typing import Dict, Iterable, List, Optional, Sequence

import numpy as np
from mmengine.utils import ProgressBar

CLASSES = (
    ('/m/demo_ball', 'Bouncing ball'),
    ('/m/demo_slide', 'Sliding square'),
    ('/m/demo_flash', 'Flashing light'),
    ('/m/demo_spin', 'Spinning bar'),
)


def _event(class_id: int, t: np.ndarray, ts: np.ndarray, yy: np.ndarray, xx: np.ndarray,
           size: int, rng: np.random.Generator):
    """Masks ``(frames, H, W)``, a colour and a waveform for one event.

    ``t``: frame times (s); ``ts``: audio sample times (s); ``yy``/``xx``: pixel grids.
    """
    phase = rng.uniform(0, 1)
    r = size / 8
    if class_id == 0:  # bouncing ball, period 1 s; a thud when it hits the floor
        height = np.abs(np.sin(np.pi * (t + phase)))
        cy = size - r - height * (size - 3 * r)
        cx = size * rng.uniform(0.3, 0.7)
        mask = (yy - cy[:, None, None]) ** 2 + (xx - cx) ** 2 < r ** 2
        since_hit = np.mod(ts + phase, 1.0)
        sound = np.exp(-since_hit * 25) * np.sin(2 * np.pi * 180 * ts)
        return mask, (230, 40, 40), sound
    if class_id == 1:  # sliding square; pitch follows position
        pos = 0.5 + 0.4 * np.sin(2 * np.pi * 0.5 * t + phase * 6)
        sx, sy = pos * size, size * rng.uniform(0.3, 0.7)
        mask = (np.abs(xx - sx[:, None, None]) < r) & (np.abs(yy - sy) < r)
        freq = 600 + 600 * (0.5 + 0.4 * np.sin(2 * np.pi * 0.5 * ts + phase * 6))
        sound = 0.5 * np.sin(2 * np.pi * np.cumsum(freq) / 16000)
        return mask, (40, 80, 230), sound
    if class_id == 2:  # flashing light, on during the first half of each 0.5 s period
        on_v = np.mod(t + phase, 0.5) < 0.25
        ly, lx = size * rng.uniform(0.3, 0.7, size=2)
        square = (np.abs(xx - lx) < 1.5 * r) & (np.abs(yy - ly) < 1.5 * r)
        mask = on_v[:, None, None] & square[None]
        on_a = np.mod(ts + phase, 0.5) < 0.25
        sound = 0.4 * on_a * rng.standard_normal(ts.shape)
        return mask, (40, 220, 60), sound
    # spinning bar, one turn per second; tone pulses twice per turn (bar symmetry)
    angle = 2 * np.pi * (t + phase)
    dx, dy = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    centre = size / 2
    along = (xx - centre) * dx + (yy - centre) * dy
    across = -(xx - centre) * dy + (yy - centre) * dx
    mask = (np.abs(along) < 3 * r) & (np.abs(across) < r / 3)
    sound = 0.5 * (0.5 + 0.5 * np.cos(4 * np.pi * (ts + phase))) * np.sin(2 * np.pi * 1600 * ts)
    return mask, (230, 210, 40), sound


def render_clip(class_ids: Sequence[int], duration: float = 10., fps: int = 10, size: int = 96,
                sample_rate: int = 16000, seed: int = 0):
    """Frames ``uint8 (N, size, size, 3)`` and a waveform ``float32 (L,)`` of the events."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(round(duration * fps))) / fps
    ts = np.arange(int(round(duration * sample_rate))) / sample_rate
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    background = rng.integers(0, 60, size=3)
    texture = rng.integers(-12, 12, size=(size, size, 1))
    frames = np.broadcast_to(np.clip(background + texture, 0, 255),
                             (len(t), size, size, 3)).astype(np.uint8)
    wave = 0.01 * rng.standard_normal(len(ts))
    for class_id in class_ids:
        mask, colour, sound = _event(class_id, t, ts, yy, xx, size, rng)
        frames = np.where(mask[..., None], np.array(colour, np.uint8), frames)
        wave = wave + sound
    wave = 0.8 * wave / max(np.abs(wave).max(), 1e-6)
    return np.ascontiguousarray(frames), wave.astype(np.float32)


def write_mp4(path: str, frames: Optional[np.ndarray], fps: int = 10,
              waveform: Optional[np.ndarray] = None, sample_rate: int = 16000) -> None:
    """Write H.264 video (yuv420p) and/or AAC mono audio into an mp4 with PyAV.

    Args:
        path: output file.
        frames: uint8 ``(N, H, W, 3)`` RGB frames (H, W even), or None for audio only.
        fps: frame rate.
        waveform: float ``(L,)`` in [-1, 1], or None for video only.
        sample_rate: audio sampling rate.
    """
    import av
    with av.open(path, 'w') as container:
        vstream = astream = None
        if frames is not None:
            vstream = container.add_stream('libx264', rate=fps)
            vstream.height, vstream.width = frames.shape[1:3]
            vstream.pix_fmt = 'yuv420p'
            vstream.options = {'preset': 'ultrafast', 'tune': 'zerolatency'}
        if waveform is not None:
            astream = container.add_stream('aac', rate=sample_rate, layout='mono')
        if vstream is not None and frames is not None:
            for img in frames:
                container.mux(vstream.encode(av.VideoFrame.from_ndarray(img, format='rgb24')))
            container.mux(vstream.encode())
        if astream is not None:
            wave = np.asarray(waveform, np.float32).reshape(1, -1)
            for start in range(0, wave.shape[1], 1024):
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(
                    wave[:, start:start + 1024]), format='fltp', layout='mono')
                frame.sample_rate = sample_rate
                frame.pts = start
                container.mux(astream.encode(frame))
            container.mux(astream.encode())


def _write_demo_clip(task: tuple) -> None:
    """Render and write one clip; ``task`` is ``(path, classes, duration, fps, size, seed)``."""
    path, classes, duration, fps, size, seed = task
    frames, wave = render_clip(classes, duration, fps, size, seed=seed)
    write_mp4(path, frames, fps, wave)


def make_demo_dataset(out_dir: str, num_clips: int = 96, duration: float = 10., fps: int = 10,
                      size: int = 96, eval_fraction: float = 0.25, multi_label_fraction=0.25,
                      seed: int = 0, workers: int = 1,
                      progress: bool = False) -> Dict[str, int]:
    """Write the demo dataset in AudioSet's layout.

    Layout::

        out_dir/class_labels_indices.csv       index,mid,display_name
        out_dir/balanced_train_segments.csv    Google's segment CSV format
        out_dir/eval_segments.csv
        out_dir/balanced_train/{ytid}_{start}_{end}.mp4  10 s, 96×96 at 10 fps, 16 kHz mono AAC
        out_dir/eval/{ytid}_{start}_{end}.mp4

    The content depends only on the arguments (not on ``workers``, the number of processes).
    ``progress=True`` shows a progress bar with the ETA (mmengine ``ProgressBar``) on stdout.

    Returns:
        dict: number of clips per split (``train`` in ``balanced_train/``, ``eval``).
    """
    rng = np.random.default_rng(seed)
    num_eval = max(1, int(round(num_clips * eval_fraction))) if num_clips > 1 else 0
    splits = {'train': num_clips - num_eval, 'eval': num_eval}
    os.makedirs(out_dir, exist_ok=True)
    with open(osp.join(out_dir, 'class_labels_indices.csv'), 'w') as f:
        f.write('index,mid,display_name\n')
        for i, (mid, name) in enumerate(CLASSES):  # names quoted as in Google's file
            f.write(f'{i},{mid},"{name}"\n')
    tasks = []
    rows: Dict[str, List[str]] = {split: [] for split in splits}
    clip = 0
    folders = {'train': 'balanced_train', 'eval': 'eval'}  # AudioSet's folder names
    for split, count in splits.items():
        os.makedirs(osp.join(out_dir, folders[split]), exist_ok=True)
        for _ in range(count):
            # cycle through the classes so every split holds all of them
            classes = [clip % len(CLASSES)]
            if rng.uniform() < multi_label_fraction:
                classes.append(int((classes[0] + rng.integers(1, len(CLASSES))) % len(CLASSES)))
            ytid = f'demo{clip:07d}'
            start = int(10 * rng.integers(0, 30))
            path = osp.join(out_dir, folders[split], f'{ytid}_{start}_{start + int(duration)}.mp4')
            tasks.append((path, classes, duration, fps, size, seed * 100003 + clip))
            labels = ','.join(CLASSES[c][0] for c in sorted(classes))
            rows[split].append(f'{ytid}, {start:.3f}, {start + duration:.3f}, "{labels}"\n')
            clip += 1
    bar = ProgressBar(len(tasks)) if progress else None
    with contextlib.ExitStack() as stack:
        if workers > 1:
            pool = stack.enter_context(multiprocessing.get_context('fork').Pool(workers))
            done: Iterable[None] = pool.imap_unordered(_write_demo_clip, tasks)
        else:
            done = map(_write_demo_clip, tasks)
        for _ in done:
            if bar is not None:
                bar.update()
    for split, count in splits.items():
        csv_name = 'balanced_train_segments.csv' if split == 'train' else 'eval_segments.csv'
        with open(osp.join(out_dir, csv_name), 'w') as f:
            f.write('# Segments csv created by mavilkit tools/data/make_demo_dataset.py\n')
            f.write(f'# num_ytids={count}, num_segs={count}, '
                    f'num_unique_labels={len(CLASSES)}, num_positive_labels='
                    f'{sum(r.count("/m/") for r in rows[split])}\n')
            f.write('# YTID, start_seconds, end_seconds, positive_labels\n')
            f.writelines(rows[split])
    return splits
