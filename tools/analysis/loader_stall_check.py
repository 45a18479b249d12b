"""Does data loading stall training? A short real-data run on clips shaped like real downloads.

``python tools/analysis/loader_stall_check.py WORK_DIR [--config CFG] [--num-clips 64]
[--iters 200] [--batch-size 32] [--num-workers N] [--width 640 --height 360 --fps 30]
[--cfg-options ...]``

1. Writes ``--num-clips`` 10-s clips like AudioSet downloads into ``WORK_DIR/clips`` (AudioSet
   layout): H.264 high profile at ``--width`` × ``--height`` and ``--fps``, a keyframe every
   ``--keyint`` seconds, AAC at 48 kHz stereo; moving textured content, so that the encoder
   produces realistic P-frames.
2. Trains ``--config`` (default: ViT-B stage 1) for ``--iters`` iterations on them with
   ``tools/train.py`` (an ``IterBasedTrainLoop``, no checkpoints, the video encoder from scratch,
   ``SyncFreeRuntimeInfoHook`` so that logging does not synchronise every step).
3. Reads mmengine's per-iteration ``data_time`` (time the loop waited for the next batch) and
   ``time`` (the whole iteration) from the run's ``scalars.json`` and prints their means after
   the first 10% of iterations (worker start-up), and the share of the step spent waiting.

Used by ``tools/analysis/gpu_check.sh``; ``--dry-run`` sizes (tiny clips, the demo model, a few
iterations) check the plumbing on a CPU.
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from multiprocessing import get_context

import numpy as np

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = 'configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'


def write_clip(path: str, width: int, height: int, fps: int, keyint_s: float, seconds: float,
               sample_rate: int, seed: int) -> None:
    """One H.264 (high) + AAC stereo mp4 with moving texture and a noisy two-tone sound."""
    import av
    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height // 8 + 2, width // 8 + 2, 3), dtype=np.uint8)
    texture = np.kron(texture, np.ones((8, 8, 1), np.uint8))  # 8-px blocks, then panned
    n_frames = int(seconds * fps)
    with av.open(path, 'w') as container:
        v = container.add_stream('libx264', rate=fps)
        v.width, v.height, v.pix_fmt = width, height, 'yuv420p'
        v.options = {'profile': 'high', 'preset': 'veryfast', 'g': str(int(keyint_s * fps)),
                     'keyint_min': str(int(keyint_s * fps)), 'sc_threshold': '0'}
        a = container.add_stream('aac', rate=sample_rate, layout='stereo')
        for i in range(n_frames):
            dy, dx = i % 16, (2 * i) % 16
            img = texture[dy:dy + height, dx:dx + width]
            img = np.ascontiguousarray(img)
            img[:, :, i % 3] = (img[:, :, i % 3].astype(np.int32) + 3 * i).clip(0, 255)
            for packet in v.encode(av.VideoFrame.from_ndarray(img, format='rgb24')):
                container.mux(packet)
        for packet in v.encode():
            container.mux(packet)
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        f0 = 220 * (1 + seed % 5)
        wave = 0.3 * np.stack([np.sin(2 * np.pi * f0 * t), np.sin(2 * np.pi * 1.5 * f0 * t)])
        wave = (wave + 0.05 * rng.standard_normal(wave.shape)).astype(np.float32)
        for start in range(0, wave.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + 1024]),
                                               format='fltp', layout='stereo')
            frame.sample_rate, frame.pts = sample_rate, start
            for packet in a.encode(frame):
                container.mux(packet)
        for packet in a.encode():
            container.mux(packet)


def make_clips(root: str, num_clips: int, width: int, height: int, fps: int, keyint_s: float,
               seconds: float, sample_rate: int, workers: int) -> None:
    """``num_clips`` clips in AudioSet's layout under ``root`` (one class, as labels are unused)."""
    os.makedirs(osp.join(root, 'train'), exist_ok=True)
    with open(osp.join(root, 'class_labels_indices.csv'), 'w') as f:
        f.write('index,mid,display_name\n0,/m/09x0r,"Speech"\n')
    rows, tasks = [], []
    for i in range(num_clips):
        ytid = f'real{i:07d}'
        path = osp.join(root, 'train', f'{ytid}_0_{int(seconds)}.mp4')
        rows.append(f'{ytid}, 0.000, {seconds:.3f}, "/m/09x0r"\n')
        if not osp.isfile(path):
            tasks.append((path, width, height, fps, keyint_s, seconds, sample_rate, i))
    with open(osp.join(root, 'balanced_train_segments.csv'), 'w') as f:
        f.write('# YTID, start_seconds, end_seconds, positive_labels\n')
        f.writelines(rows)
    with get_context('fork').Pool(max(1, workers)) as pool:
        pool.starmap(write_clip, tasks)


def write_config(path: str, base: str, root: str, iters: int, batch_size: int,
                 num_workers: int) -> None:
    """A config inheriting ``base`` that trains ``iters`` iterations on the clips in ``root``."""
    lines = [
        f'_base_ = [{osp.abspath(osp.join(REPO, base))!r}]',
        f'train_dataloader = dict(batch_size={batch_size}, num_workers={num_workers}, '
        'persistent_workers=True, sampler=dict(_delete_=True, type="InfiniteSampler", '
        'shuffle=True), dataset=dict(_delete_=True, type="AudioSetDataset", '
        f'data_root={root!r}, label_file="class_labels_indices.csv", '
        'ann_file="balanced_train_segments.csv", data_prefix=dict(video="train"), '
        'pipeline={{_base_.train_pipeline}}))',
        f'train_cfg = dict(_delete_=True, type="IterBasedTrainLoop", max_iters={iters})',
        'param_scheduler = []',
        'model = dict(video_backbone=dict(init_cfg=None))',
        'default_hooks = dict(runtime_info=dict(type="SyncFreeRuntimeInfoHook"), '
        'logger=dict(type="LoggerHook", interval=10), '
        'checkpoint=dict(type="CheckpointHook", interval=10**9, by_epoch=False, '
        'save_last=False))',
        'custom_hooks = []',
        'log_processor = dict(by_epoch=False)',
        'auto_scale_lr = dict(enable=False)',
    ]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def summarize(work_dir: str, iters: int) -> dict:
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: did the run fail?')
    records = [json.loads(line) for line in open(files[-1]) if '"data_time"' in line]
    skip = max(1, len(records) // 10)
    kept = records[skip:] or records
    data = float(np.mean([r['data_time'] for r in kept]))
    step = float(np.mean([r['time'] for r in kept]))
    return dict(logged_points=len(records), data_time_s=data, iter_time_s=step,
                wait_share=data / step if step else float('nan'))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('work_dir')
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument('--num-clips', type=int, default=64)
    p.add_argument('--iters', type=int, default=200)
    p.add_argument('--batch-size', type=int, default=32)
    p.add_argument('--num-workers', type=int, default=max(1, (os.cpu_count() or 2) - 2))
    p.add_argument('--width', type=int, default=640)
    p.add_argument('--height', type=int, default=360)
    p.add_argument('--fps', type=int, default=30)
    p.add_argument('--keyint', type=float, default=3., help='seconds between keyframes')
    p.add_argument('--seconds', type=float, default=10.)
    p.add_argument('--sample-rate', type=int, default=48000)
    p.add_argument('--dry-run', action='store_true',
                   help='CPU plumbing check: 4 tiny clips, the demo model, 3 iterations')
    p.add_argument('--cfg-options', nargs='+', default=[])
    args = p.parse_args(argv)
    cfg_options = list(args.cfg_options)
    if args.dry_run:
        args.num_clips, args.iters, args.batch_size, args.num_workers = 4, 3, 2, 1
        args.width, args.height, args.fps, args.seconds = 128, 96, 10, 10.
        args.config = 'configs/demo/mavil-s1_demo.py'
    os.makedirs(args.work_dir, exist_ok=True)
    root = osp.join(osp.abspath(args.work_dir), 'clips')
    t0 = time.time()
    make_clips(root, args.num_clips, args.width, args.height, args.fps, args.keyint,
               args.seconds, args.sample_rate, args.num_workers)
    print(f'clips: {args.num_clips} × {args.seconds:g} s {args.width}x{args.height} '
          f'{args.fps} fps H.264 high, AAC {args.sample_rate} Hz stereo, keyframe every '
          f'{args.keyint:g} s, in {time.time() - t0:.1f} s', flush=True)
    cfg_path = osp.join(args.work_dir, 'loader_stall_cfg.py')
    write_config(cfg_path, args.config, root, args.iters, args.batch_size, args.num_workers)
    run_dir = osp.join(args.work_dir, 'run')
    cmd = [sys.executable, osp.join(REPO, 'tools', 'train.py'), cfg_path, '--work-dir', run_dir]
    if cfg_options:
        cmd += ['--cfg-options'] + cfg_options
    t0 = time.time()
    subprocess.run(cmd, check=True, cwd=REPO)
    wall = time.time() - t0
    res = summarize(run_dir, args.iters)
    res.update(wall_s=wall, iters=args.iters, batch_size=args.batch_size,
               num_workers=args.num_workers, clip=f'{args.width}x{args.height}@{args.fps}')
    print(f'loader stall: {res["data_time_s"] * 1e3:.1f} ms waiting for data per step of '
          f'{res["iter_time_s"] * 1e3:.1f} ms ({100 * res["wait_share"]:.0f} % of the step), '
          f'batch {args.batch_size}, {args.num_workers} workers, {res["clip"]}; '
          f'{args.iters} iterations in {wall:.0f} s (with start-up)')
    with open(osp.join(args.work_dir, 'loader_stall.json'), 'w') as f:
        json.dump(res, f, indent=1)
    return res


if __name__ == '__main__':
    main()
