"""Data-loading cost: a config's DataLoader, and clip by clip on clips shaped like real downloads.

Three modes::

    # 1. a config's DataLoader: clips/s with N workers, and time per transform
    python tools/analysis/benchmark_dataloader.py configs/_base_/datasets/demo_pretrain.py \
        --num-workers 2 [--num-batches 20] [--cfg-options train_dataloader.dataset.data_root=DIR]

    # 2. write clips shaped like AudioSet / VGGSound downloads, in AudioSet's layout
    python tools/analysis/benchmark_dataloader.py --make-clips /tmp/as_like --num-clips 4 \
        [--resolutions 640x360 1280x720] [--fps 25 30] [--keyframe-seconds 2 5] \
        [--audio-rates 44100 48000] [--duration 10] [--vfr-every 3]

    # 3. CPU time per stage of those clips, the levers, the compact copy and the peers
    python tools/analysis/benchmark_dataloader.py --stages /tmp/as_like [--prepared DIR] \
        [--peers] [--json out.json]

Mode 2 writes H.264 high profile (x264 ``superfast``: CABAC and B-frames, as YouTube's encodes
have), ABR at 700 kb/s (360p) / 2 Mb/s (720p), a keyframe every 2-5 s, AAC stereo at 44.1 / 48
kHz, 10 s; every ``--vfr-every``-th clip drops to a third of its frame rate half-way (variable
frame rate). The content is a panned multi-scale texture with film grain and a moving block,
so that the bit rate is spent as on real footage.

Mode 3 reports, per resolution, CPU milliseconds per clip on one core (``time.process_time``,
one thread) for: container open, audio decode, resample (+ downmix), fbank, video index, video
seek+decode of the 8 frames, RGB conversion + resize/crop, collate; for the current pipeline
(decord, full-frame RGB, OpenCV resize) and for each lever (keyframe-aware seeking, skipping
non-reference frames, crop+scale before the colour conversion, threaded decoding, one-pass
FFmpeg downmix+resample); with the fraction of decoded frames thrown away. ``--prepared`` adds
the copy written by ``tools/data/prepare_clips.py``; ``--peers`` adds CAV-MAE's pre-extracted
JPEG frames + wav and AST / Audio-MAE's wav + fbank in the worker, on the same clips.

It is a benchmark, not a test: numbers depend on the machine, its load and the OS cache. Run
all variants in one invocation and compare ratios; quote absolute numbers with the machine.
"""
import argparse
import json
import os
import os.path as osp
import time
from collections import defaultdict
from fractions import Fraction
from typing import Dict, List, Sequence

import numpy as np

STAGES = dict(SampleVideoFrames='video decode', SampleVideoFramesPyAV='video decode',
              LoadAudio='audio decode', AudioFbank='fbank', PrepareWaveform='fbank',
              PackAVInputs='packing')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='benchmark data loading')
    parser.add_argument('config', nargs='?', help='config whose DataLoader is timed (mode 1)')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='DataLoader workers (default: the config\'s)')
    parser.add_argument('--num-batches', type=int, default=20)
    parser.add_argument('--num-clips-per-stage', type=int, default=20,
                        help='clips timed transform by transform')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--cfg-options', nargs='+', action=_dict_action())
    clips = parser.add_argument_group('download-like clips (mode 2)')
    clips.add_argument('--make-clips', metavar='DIR')
    clips.add_argument('--num-clips', type=int, default=4, help='clips per resolution')
    clips.add_argument('--resolutions', nargs='+', default=['640x360', '1280x720'])
    clips.add_argument('--fps', nargs='+', type=float, default=[25., 30.])
    clips.add_argument('--keyframe-seconds', nargs=2, type=float, default=[2., 5.],
                       help='range of the keyframe interval')
    clips.add_argument('--audio-rates', nargs='+', type=int, default=[44100, 48000])
    clips.add_argument('--duration', type=float, default=10.)
    clips.add_argument('--vfr-every', type=int, default=3,
                       help='every n-th clip has a variable frame rate (0: none)')
    clips.add_argument('--preset', default='superfast', help='x264 preset of the clips')
    stages = parser.add_argument_group('per-stage costs (mode 3)')
    stages.add_argument('--stages', metavar='DIR', help='folder of clips (mode 2 layout)')
    stages.add_argument('--prepared', metavar='DIR', nargs='+', default=[],
                        help='the same clips re-encoded by tools/data/prepare_clips.py (one or '
                        'more copies)')
    stages.add_argument('--peers', action='store_true',
                        help='also time CAV-MAE (JPEG frames + wav) and AST (wav + fbank)')
    stages.add_argument('--crop-size', type=int, default=224)
    stages.add_argument('--repeats', type=int, default=1, help='passes over the clips')
    stages.add_argument('--json', help='write the figures here')
    return parser.parse_args(argv)


def _dict_action():
    from mmengine.config import DictAction
    return DictAction


# ----------------------------------------------------------------------------------------------
# mode 2: clips shaped like downloads
# ----------------------------------------------------------------------------------------------
def render_texture(width: int, height: int, rng) -> np.ndarray:
    """A multi-scale smoothed-noise texture twice the frame size (uint8 ``(2h, 2w, 3)``)."""
    import cv2
    tex = np.zeros((2 * height, 2 * width, 3), np.float32)
    for cell in (8, 32, 128):
        small = rng.uniform(0, 255, (2 * height // cell + 1, 2 * width // cell + 1, 3))
        tex += cv2.resize(small.astype(np.float32), (2 * width, 2 * height),
                          interpolation=cv2.INTER_CUBIC) / 3
    return np.clip(tex, 0, 255).astype(np.uint8)


def write_download_like_clip(path: str, width: int = 640, height: int = 360, fps: float = 25.,
                             keyframe_seconds: float = 2., audio_rate: int = 44100,
                             duration: float = 10., vfr: bool = False, seed: int = 0,
                             preset: str = 'superfast', video_kbps: int = None,
                             audio_kbps: int = 128) -> dict:
    """Write one H.264 high-profile + AAC stereo mp4 like a YouTube download; returns its facts.

    ``vfr=True``: from half-way the frame rate drops to a third (timestamps carry it). The
    video bit rate defaults to 700 kb/s up to 360p and 2 Mb/s above (YouTube's usual rates).
    """
    import av
    rng = np.random.default_rng(seed)
    tex = render_texture(width, height, rng)
    grain = [rng.integers(-6, 7, (height, width, 3), dtype=np.int16) for _ in range(4)]
    kbps = video_kbps or (700 if height <= 360 else 2000)
    times = np.arange(0, duration - 1e-9, 1 / fps)
    if vfr:
        times = np.concatenate([times[times < duration / 2],
                                np.arange(duration / 2, duration - 1e-9, 3 / fps)])
    fps_frac = Fraction(fps).limit_denominator(1001)
    time_base = Fraction(1, int(round(1000 * fps)))
    with av.open(path, 'w') as container:
        video = container.add_stream('libx264', rate=fps_frac)
        video.width, video.height, video.pix_fmt = width, height, 'yuv420p'
        video.bit_rate = kbps * 1000
        gop = max(1, int(round(keyframe_seconds * fps)))
        video.options = {'preset': preset, 'profile': 'high', 'threads': '1',
                         'x264-params': f'keyint={gop}:min-keyint={gop}:scenecut=0'}
        video.codec_context.time_base = time_base
        audio = container.add_stream('aac', rate=audio_rate, layout='stereo')
        audio.bit_rate = audio_kbps * 1000
        for i, t in enumerate(times):
            x = int(width / 2 * (1 + np.sin(t / 3)))
            y = int(height / 2 * (1 + np.cos(t / 4)))
            img = tex[y:y + height, x:x + width].astype(np.int16) + grain[i % 4]
            bx = int((width - 60) * (0.5 + 0.5 * np.sin(2 * t)))
            img[height // 3:height // 3 + 60, bx:bx + 60] = 230
            frame = av.VideoFrame.from_ndarray(np.clip(img, 0, 255).astype(np.uint8),
                                               format='rgb24')
            frame.pts, frame.time_base = int(round(t / time_base)), time_base
            container.mux(video.encode(frame))
        container.mux(video.encode())
        n = int(duration * audio_rate)
        t = np.arange(n) / audio_rate
        wave = np.stack([0.2 * np.sin(2 * np.pi * 440 * t * (1 + 0.1 * np.sin(t))),
                         0.2 * np.sin(2 * np.pi * 660 * t)])
        wave = (wave + 0.05 * rng.standard_normal((2, n))).astype(np.float32)
        for start in range(0, n, 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + 1024]),
                                               format='fltp', layout='stereo')
            frame.sample_rate, frame.pts = audio_rate, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    return dict(path=path, width=width, height=height, fps=fps, keyframe_seconds=keyframe_seconds,
                audio_rate=audio_rate, duration=duration, vfr=vfr, frames=len(times),
                bytes=os.path.getsize(path))


def make_clips(out_dir: str, num_clips: int = 4, resolutions: Sequence[str] = ('640x360',),
               fps: Sequence[float] = (25., 30.), keyframe_seconds: Sequence[float] = (2., 5.),
               audio_rates: Sequence[int] = (44100, 48000), duration: float = 10.,
               vfr_every: int = 3, preset: str = 'superfast', seed: int = 0) -> List[dict]:
    """``num_clips`` download-like clips per resolution in AudioSet's layout
    (``balanced_train/`` + ``balanced_train_segments.csv`` + ``class_labels_indices.csv``, as the
    demo dataset), so
    that the demo configs read them with ``train_dataloader.dataset.data_root=out_dir``. The
    properties cycle through the given values; keyframe intervals spread over the range."""
    from mavilkit.testing import CLASSES
    os.makedirs(osp.join(out_dir, 'balanced_train'), exist_ok=True)
    with open(osp.join(out_dir, 'class_labels_indices.csv'), 'w') as f:
        f.write('index,mid,display_name\n')
        f.writelines(f'{i},{mid},"{name}"\n' for i, (mid, name) in enumerate(CLASSES))
    facts, rows = [], []
    lo, hi = keyframe_seconds
    for r, res in enumerate(resolutions):
        width, height = (int(v) for v in res.lower().split('x'))
        for i in range(num_clips):
            k = r * num_clips + i
            ytid = f'{height}p{k:07d}'
            path = osp.join(out_dir, 'balanced_train', f'{ytid}_0_{int(duration)}.mp4')
            gop = lo + (hi - lo) * (i / max(1, num_clips - 1))
            facts.append(write_download_like_clip(
                path, width, height, fps[k % len(fps)], gop, audio_rates[k % len(audio_rates)],
                duration, bool(vfr_every) and i % vfr_every == vfr_every - 1, seed + k, preset))
            rows.append(f'{ytid}, 0.000, {duration:.3f}, "{CLASSES[k % len(CLASSES)][0]}"\n')
    with open(osp.join(out_dir, 'balanced_train_segments.csv'), 'w') as f:
        f.write('# download-like clips written by tools/analysis/benchmark_dataloader.py\n')
        f.write('# YTID, start_seconds, end_seconds, positive_labels\n')
        f.writelines(rows)
    with open(osp.join(out_dir, 'clips.json'), 'w') as f:
        json.dump(facts, f, indent=1)
    return facts


# ----------------------------------------------------------------------------------------------
# mode 3: per-stage CPU cost
# ----------------------------------------------------------------------------------------------
class _Clock:
    """Accumulates CPU time (all threads of this process) per named stage."""

    def __init__(self):
        self.cpu = defaultdict(float)
        self.wall = defaultdict(float)

    def __call__(self, name, fn, *args, **kwargs):
        c, w = time.process_time(), time.perf_counter()
        out = fn(*args, **kwargs)
        self.cpu[name] += time.process_time() - c
        self.wall[name] += time.perf_counter() - w
        return out


def time_clip(path: str, clock: _Clock, counts: dict, crop_size: int = 224,
              threads: Sequence[int] = (2,), with_pyav_reader: bool = True) -> None:
    """Time every stage and lever on one clip (see the module docstring)."""
    import av
    import torch
    from mmengine.dataset import pseudo_collate

    from mavilkit.datasets.transforms import (AudioFbank, PackAVInputs, SampleVideoFrames,
                                              VideoFlip, VideoRandomResizedCrop)
    from mavilkit.datasets.transforms.loading import MonoResampler
    from mavilkit.datasets.transforms.pyav_video import (decode_frames, packet_index,
                                                         yuv420_crop_resize)

    # --- audio -------------------------------------------------------------------------------
    container = clock('open', av.open, path)
    astream = container.streams.audio[0]
    vstream = container.streams.video[0]
    vstream.thread_type, vstream.codec_context.thread_count = 'SLICE', 1
    frames = clock('audio decode', lambda: list(container.decode(astream)))

    def resample_then_mean():  # the reader before issue 10: resample, then average channels
        resampler = av.AudioResampler(format='fltp', layout=None, rate=16000)
        chunks = [f.to_ndarray() for fr in frames for f in resampler.resample(fr)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
        return np.concatenate(chunks, axis=1).mean(axis=0, dtype=np.float32)

    def one_pass():  # LoadAudio's reader now: libswresample downmixes and resamples at once
        resampler = MonoResampler(16000)
        chunks = [c for fr in frames for c in resampler.push(fr)] + resampler.push(None)
        return np.concatenate([np.asarray(c, np.float32).reshape(-1) for c in chunks])

    clock('resample, then channel mean (reader before issue 10)', resample_then_mean)
    waveform = clock('resample + downmix in FFmpeg, one pass (current)', one_pass)
    fbank = AudioFbank(1024)
    audio = clock('fbank', lambda: fbank(dict(waveform=waveform, sample_rate=16000))['audio'])
    container.seek(0)

    # --- video: current path (decord, full-frame RGB, OpenCV resize) -------------------------
    state = np.random.get_state()
    current = clock('video: decord open+seek+decode+RGB (current)',
                    SampleVideoFrames(backend='decord'), dict(filename=path))
    if with_pyav_reader:
        np.random.set_state(state)
        clock('video: PyAV reader of SampleVideoFrames (decord fallback)',
              SampleVideoFrames(backend='pyav'), dict(filename=path))
    imgs = current['imgs']
    crop = VideoRandomResizedCrop(crop_size)
    flip = VideoFlip(0.5)
    clock('resize/crop+flip of RGB frames (current)',
          lambda: flip(crop(dict(imgs=imgs, img_shape=imgs.shape[1:3]))))

    # --- video: PyAV, levers (the same frames) -----------------------------------------------
    pts, keys, delay = clock('video index (demux, no decode)', packet_index, container,
                             vstream)
    wanted = pts[np.unique(current['frame_inds'])]
    unique = len(wanted)
    keep = lambda frame: frame  # noqa: E731 conversion timed separately
    variants = [('from keyframe before window', False, False),
                ('+ skip non-reference frames', True, False),
                ('+ keyframe-aware re-seek', True, True)]
    for name, skip, reseek in variants:
        decoded, n = clock(f'video seek+decode: {name}', decode_frames, container, vstream,
                           wanted, keys, keep, skip, reseek, delay)
        counts[name].append((n, unique))
    for n_threads in threads:
        ctx = av.open(path)
        stream = ctx.streams.video[0]
        stream.thread_type, stream.codec_context.thread_count = 'FRAME', n_threads
        _, n = clock(f'video seek+decode: all levers, {n_threads} frame threads',
                     decode_frames, ctx, stream, wanted, keys, keep, True, True, delay)
        ctx.close()
    h, w = decoded[0].height, decoded[0].width
    y, x, ch, cw = crop.crop_box(h, w)
    clock('RGB of the 8 frames, full size (current path inside decord)',
          lambda: [f.to_ndarray(format='rgb24') for f in decoded])

    def sws(frame):
        sh, sw = crop_size / ch, crop_size / cw
        out = frame.reformat(width=int(round(w * sw)) // 2 * 2, height=int(round(h * sh)) // 2 * 2,
                             format='rgb24', interpolation='BILINEAR').to_ndarray()
        oy, ox = int(round(y * sh)), int(round(x * sw))
        return out[oy:oy + crop_size, ox:ox + crop_size]

    clock('crop+scale: FFmpeg swscale to the crop scale, then crop',
          lambda: [sws(f) for f in decoded])
    fused = clock('crop+scale: YUV crop, resize, then RGB (OpenCV)',
                  lambda: np.stack([yuv420_crop_resize(f, (y, x, ch, cw),
                                                       (crop_size, crop_size))
                                    for f in decoded]))
    container.close()

    # --- collate ------------------------------------------------------------------------------
    packed = PackAVInputs()(dict(audio=audio, imgs=fused[np.arange(8) % len(fused)],
                                 clip_len=8, num_clips=1))
    clock('collate (per clip, batch of 8)',
          lambda: {k: torch.stack(v) for k, v in
                   pseudo_collate([packed] * 8)['inputs'].items()})


def time_peers(path: str, work: str, clock: _Clock, rng, crop_size: int = 224) -> None:
    """CAV-MAE (JPEG frames + wav, extracted once) and AST / Audio-MAE (wav → fbank in the
    worker) on the same clip. The extraction itself is not timed (done once per dataset)."""
    import av
    import cv2
    import soundfile

    from mavilkit.datasets.transforms import AudioFbank, VideoRandomResizedCrop
    from mavilkit.datasets.transforms.loading import read_audio_pyav
    stem = osp.join(work, osp.splitext(osp.basename(path))[0])
    if not osp.exists(stem + '.wav'):
        waveform, _ = read_audio_pyav(path, 16000)
        soundfile.write(stem + '.wav', waveform, 16000, subtype='PCM_16')
        os.makedirs(stem, exist_ok=True)
        # 2 frames per second, short side 256 pixels, JPEG quality 90 (about CAV-MAE's export)
        with av.open(path) as container:
            step, next_t, i = 0.5, 0., 0
            for frame in container.decode(video=0):
                if frame.time is not None and frame.time + 1e-6 >= next_t:
                    img = frame.to_ndarray(format='bgr24')
                    scale = 256 / min(img.shape[:2])
                    img = cv2.resize(img, (int(round(img.shape[1] * scale)), 256)
                                     if img.shape[0] <= img.shape[1] else
                                     (256, int(round(img.shape[0] * scale))),
                                     interpolation=cv2.INTER_AREA)
                    cv2.imwrite(osp.join(stem, f'{i:03d}.jpg'), img,
                                [cv2.IMWRITE_JPEG_QUALITY, 90])
                    i, next_t = i + 1, next_t + step
    fbank = AudioFbank(1024)

    def wav_fbank():
        data, _ = soundfile.read(stem + '.wav', dtype='float32')
        return fbank(dict(waveform=data, sample_rate=16000))['audio']

    clock('peer AST/Audio-MAE: wav read + fbank', wav_fbank)
    jpgs = sorted(os.listdir(stem))
    first = rng.integers(0, max(1, len(jpgs) - 8))
    crop = VideoRandomResizedCrop(crop_size)

    def jpeg_frames():
        imgs = np.stack([cv2.imread(osp.join(stem, j))[..., ::-1]
                         for j in jpgs[first:first + 8]])
        return crop(dict(imgs=imgs, img_shape=imgs.shape[1:3]))['imgs']

    clock('peer CAV-MAE: 8 JPEG frames read + resize/crop', jpeg_frames)


def _report(title: str, clock: _Clock, num: int, counts: dict) -> dict:
    print(f'\n{title}: CPU ms per clip on one core (wall ms), mean of {num} clips')
    out = {}
    for name, cpu in clock.cpu.items():
        out[name] = 1000 * cpu / num
        print(f'  {name:<66} {out[name]:8.1f}  ({1000 * clock.wall[name] / num:7.1f})')
    for name, pairs in counts.items():
        decoded = sum(n for n, _ in pairs)
        wanted = sum(u for _, u in pairs)
        frac = 1 - wanted / decoded if decoded else 0.
        out[f'frames decoded: {name}'] = decoded / len(pairs)
        out[f'thrown away: {name}'] = frac
        print(f'  decoded frames per clip, {name:<40} {decoded / len(pairs):6.1f}  '
              f'({100 * frac:4.1f} % thrown away)')
    cur = ['open', 'audio decode', 'resample + downmix in FFmpeg, one pass (current)', 'fbank',
           'video: decord open+seek+decode+RGB (current)',
           'resize/crop+flip of RGB frames (current)', 'collate (per clip, batch of 8)']
    best = ['open', 'audio decode', 'resample + downmix in FFmpeg, one pass (current)', 'fbank',
            'video index (demux, no decode)', 'video seek+decode: + keyframe-aware re-seek',
            'crop+scale: YUV crop, resize, then RGB (OpenCV)', 'collate (per clip, batch of 8)']
    if all(k in out for k in cur):
        # the decord path opens the file itself; PyAV's open is counted for the audio
        out['total current'] = sum(out[k] for k in cur)
        out['total with the levers'] = sum(out[k] for k in best)
        out['total with the levers, fbank on the device'] = out['total with the levers'] - \
            out['fbank']
        for k in ('total current', 'total with the levers',
                  'total with the levers, fbank on the device'):
            print(f'  {k:<66} {out[k]:8.1f}')
    return out


def _clip_folder(root: str) -> str:
    """The demo layout keeps its clips in ``balanced_train/``; a plain folder of clips works too."""
    sub = osp.join(root, 'balanced_train')
    return sub if osp.isdir(sub) else root


def run_stages(root: str, prepared: Sequence[str] = (), peers: bool = False,
               crop_size: int = 224, repeats: int = 1, seed: int = 0) -> Dict[str, dict]:
    """Mode 3 on the clips of ``root`` (grouped by height), optionally their compact copies
    (``prepared`` folders) and the peers. Returns ``{group: {stage: ms or fraction}}``."""
    import cv2
    import torch
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    folder = _clip_folder(root)
    paths = sorted(osp.join(folder, p) for p in os.listdir(folder) if p.endswith('.mp4'))
    if not paths:
        raise FileNotFoundError(f'no .mp4 clips in {folder}')
    groups = defaultdict(list)
    import av
    for p in paths:
        with av.open(p) as c:
            groups[f'{c.streams.video[0].codec_context.height}p'].append(p)
    results = {}
    np.random.seed(seed)
    rng = np.random.default_rng(seed)
    sets = [('', groups)]
    for copy in ([prepared] if isinstance(prepared, str) else prepared):
        pfolder = _clip_folder(copy)
        sets.append((f' compact copy {osp.basename(osp.normpath(copy))}',
                     {g: [osp.join(pfolder, osp.basename(p)) for p in ps]
                      for g, ps in groups.items()}))
    for suffix, grouped in sets:
        for group, ps in grouped.items():
            clock, counts = _Clock(), defaultdict(list)
            for _ in range(repeats):
                for p in ps:
                    time_clip(p, clock, counts, crop_size)
            title = f'{group} source clips{suffix}' if suffix else f'{group} download-like clips'
            results[f'{group}{suffix}'] = _report(title, clock, len(ps) * repeats, counts)
    if peers:
        import tempfile
        with tempfile.TemporaryDirectory() as work:
            for group, ps in groups.items():
                clock = _Clock()
                for _ in range(repeats):
                    for p in ps:
                        time_peers(p, work, clock, rng, crop_size)
                results[f'{group} peers'] = _report(f'{group} peers (same clips)', clock,
                                                    len(ps) * repeats, {})
    return results


# ----------------------------------------------------------------------------------------------
# mode 1: a config's DataLoader
# ----------------------------------------------------------------------------------------------
def leaf_dataset(dataset):
    """The first dataset holding a pipeline (unwraps ConcatDataset and friends)."""
    while not hasattr(dataset, 'pipeline'):
        dataset = dataset.datasets[0] if hasattr(dataset, 'datasets') else dataset.dataset
    return dataset


def time_stages(dataset, num_clips):
    """Seconds per clip spent in each stage, measured in this process."""
    totals = defaultdict(float)
    transforms = dataset.pipeline.transforms
    for idx in range(min(num_clips, len(dataset))):
        results = dataset.get_data_info(idx)
        for t in transforms:
            start = time.perf_counter()
            results = t(results)
            stage = STAGES.get(type(t).__name__, 'augmentation')
            totals[stage] += time.perf_counter() - start
    count = min(num_clips, len(dataset))
    return {k: v / count for k, v in totals.items()}, count


def run_config(args):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import Runner

    from mavilkit.utils.setup_env import register_all_modules
    from mavilkit.utils.threads import (describe_thread_budget, plan_thread_budget,
                                        set_process_threads)
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mavilkit'))
    loader_cfg = cfg[f'{args.split}_dataloader'].to_dict()
    if args.num_workers is not None:
        loader_cfg['num_workers'] = args.num_workers
    if loader_cfg.get('num_workers', 0) == 0:
        loader_cfg['persistent_workers'] = False
    else:  # the thread budget of tools/train.py
        loader_cfg.setdefault('worker_init_fn', dict(type='mavilkit.av_worker_init_fn'))
    budget = plan_thread_budget(loader_cfg.get('num_workers', 0))
    set_process_threads(budget['main_threads'])
    print(describe_thread_budget(budget))
    loader = Runner.build_dataloader(loader_cfg, seed=0)

    iterator = iter(loader)
    next(iterator)  # warm-up: worker start and first reads
    clips, start = 0, time.perf_counter()
    for _ in range(args.num_batches):
        try:
            batch = next(iterator)
        except StopIteration:
            iterator = iter(loader)
            batch = next(iterator)
        clips += len(batch['data_samples'])
    elapsed = time.perf_counter() - start
    print(f'DataLoader: {clips} clips in {elapsed:.2f} s = {clips / elapsed:.1f} clips/s '
          f'(batch {loader.batch_size}, {loader.num_workers} workers)')

    set_process_threads(1)
    stages, count = time_stages(leaf_dataset(loader.dataset), args.num_clips_per_stage)
    total = sum(stages.values())
    print(f'Per-clip time by stage (one process, one thread, {count} clips):')
    for stage in ('video decode', 'audio decode', 'fbank', 'augmentation', 'packing'):
        if stage in stages:
            print(f'  {stage:<13} {stages[stage] * 1000:8.1f} ms  '
                  f'({100 * stages[stage] / total:4.1f} %)')
    print(f'  {"total":<13} {total * 1000:8.1f} ms  = {1 / total:.1f} clips/s per process')


def main(argv=None):
    args = parse_args(argv)
    if args.make_clips:
        start = time.perf_counter()
        facts = make_clips(args.make_clips, args.num_clips, args.resolutions, args.fps,
                           args.keyframe_seconds, args.audio_rates, args.duration,
                           args.vfr_every, args.preset)
        print(f'{len(facts)} clips in {args.make_clips} ({time.perf_counter() - start:.1f} s); '
              f'{sum(f["bytes"] for f in facts) / len(facts) / 1e6:.2f} MB per clip')
    if args.stages:
        results = run_stages(args.stages, args.prepared, args.peers, args.crop_size,
                             args.repeats)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(results, f, indent=1)
    if args.config:
        run_config(args)
    if not (args.make_clips or args.stages or args.config):
        raise SystemExit('give a CONFIG, --make-clips DIR or --stages DIR')


if __name__ == '__main__':
    main()
