"""Re-encode a clip collection once into a compact copy that is cheap to decode in training.

    python tools/data/prepare_clips.py data/audioset data/audioset_256 --workers 8

Every video file under SRC (``.mp4 .mkv .webm .mov .avi .m4v``) is written to the same relative
path under DST as an mp4 holding

- H.264 (libx264, ``--preset``, ``--crf``) scaled to a short side of ``--short-side`` (256)
  pixels, a keyframe every ``--keyframe-interval`` (1) second, the source's frame timestamps
  kept (variable frame rate stays variable);
- AAC at ``--sample-rate`` (16 kHz), mono, downmixed by FFmpeg's resampler.

Other files (annotation CSVs, label files) are copied, so DST is a drop-in ``data_root``.

Resumable: a file is written under a temporary name and renamed when complete, so an interrupted
run is restarted with the same command and skips the files already done. Files that cannot be
read are reported at the end and skipped (the data loader then counts them as bad media).
The trade-off (decode cost, bytes per clip, what the training sees) is measured in
``docs/en/advanced_guides/performance.md``; the fbank of the copy differs from the source's by
the AAC re-encoding only (the training resamples to 16 kHz mono anyway).
"""
import argparse
import os
import os.path as osp
import shutil
import sys
from fractions import Fraction
from multiprocessing import get_context
from typing import Optional, Tuple

VIDEO_EXTS = ('.mp4', '.mkv', '.webm', '.mov', '.avi', '.m4v')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='re-encode clips into a compact copy')
    parser.add_argument('src', help='folder of clips (searched recursively)')
    parser.add_argument('dst', help='output folder (same relative paths)')
    parser.add_argument('--short-side', type=int, default=256)
    parser.add_argument('--keyframe-interval', type=float, default=1.,
                        help='seconds between keyframes')
    parser.add_argument('--sample-rate', type=int, default=16000)
    parser.add_argument('--crf', type=int, default=23)
    parser.add_argument('--preset', default='veryfast', help='x264 preset')
    parser.add_argument('--fps', type=float, default=None,
                        help='keep at most this frame rate (frames dropped by timestamp); '
                        'default: the source\'s')
    parser.add_argument('--fast-decode', action='store_true',
                        help='x264 --tune fastdecode (no CABAC, no deblocking): cheaper to '
                        'decode, larger files')
    parser.add_argument('--workers', type=int, default=os.cpu_count() or 1)
    return parser.parse_args(argv)


def scaled_size(width: int, height: int, short_side: int) -> Tuple[int, int]:
    """(width, height) with the short side at ``short_side`` (never upscaled), both even."""
    scale = min(1., short_side / min(width, height))
    return (max(2, int(round(width * scale / 2)) * 2), max(2, int(round(height * scale / 2)) * 2))


def reencode(src: str, dst: str, short_side: int = 256, keyframe_interval: float = 1.,
             sample_rate: int = 16000, crf: int = 23, preset: str = 'veryfast',
             fps: Optional[float] = None, fast_decode: bool = False) -> None:
    """Write the compact copy of ``src`` to ``dst`` (see the module docstring).

    ``fps``: keep the first frame of every ``1 / fps`` time slot, so the copy has at most that
    rate; the frame shown at a time is then at most one slot plus one source frame older than
    in the source. ``fast_decode``: x264's ``fastdecode`` tuning.

    The first video and first audio stream are kept; a file without either keeps what it has.
    Raises ``av.error.FFmpegError`` (or ``ValueError`` for a file with no stream) on unreadable
    input; ``dst`` is then not created.
    """
    import av
    from av.video.frame import PictureType
    tmp = dst + '.part'
    os.makedirs(osp.dirname(dst) or '.', exist_ok=True)
    try:
        with av.open(src) as inp, av.open(tmp, 'w', format='mp4') as out:
            vin = inp.streams.video[0] if inp.streams.video else None
            ain = inp.streams.audio[0] if inp.streams.audio else None
            if vin is None and ain is None:
                raise ValueError(f'{src}: no audio or video stream')
            vout = aout = resampler = None
            streams = []
            if vin is not None:
                vin.thread_type = 'AUTO'
                vin.codec_context.thread_count = 1  # one process per core (--workers)
                rate = vin.average_rate or vin.guessed_rate or Fraction(25)
                if fps:
                    rate = min(rate, Fraction(fps).limit_denominator(1001))
                width, height = scaled_size(vin.codec_context.width, vin.codec_context.height,
                                            short_side)
                vout = out.add_stream('libx264', rate=rate)
                vout.width, vout.height, vout.pix_fmt = width, height, 'yuv420p'
                # Keyframes are forced by presentation time (below), so that a variable frame
                # rate still gets one every `keyframe_interval` seconds.
                vout.options = {'preset': preset, 'crf': str(crf), 'threads': '1',
                                'forced-idr': '1', 'x264-params': 'keyint=infinite:scenecut=0'}
                if fast_decode:
                    vout.options['tune'] = 'fastdecode'
                # Source timestamps are passed through: a variable frame rate stays as it is.
                vout.codec_context.time_base = vin.time_base
                streams.append(vin)
            if ain is not None:
                aout = out.add_stream('aac', rate=sample_rate, layout='mono')
                resampler = av.AudioResampler(format='fltp', layout='mono', rate=sample_rate)
                streams.append(ain)
            next_key = next_slot = None
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    if packet.stream is vin:
                        t = float(frame.pts * frame.time_base) if frame.pts is not None else 0.
                        if fps:  # one frame per 1/fps slot: the first shown in it
                            if next_slot is not None and t < next_slot - 1e-6:
                                continue
                            next_slot = (t if next_slot is None else next_slot) + 1 / fps
                            while next_slot <= t:
                                next_slot += 1 / fps
                        image = frame.reformat(width=vout.width, height=vout.height,
                                               format='yuv420p')
                        image.pts, image.time_base = frame.pts, frame.time_base
                        if next_key is None or t >= next_key - 1e-6:
                            image.pict_type = PictureType.I
                            next_key = (t if next_key is None else next_key) + keyframe_interval
                            while next_key <= t:
                                next_key += keyframe_interval
                        else:
                            image.pict_type = PictureType.NONE  # not the source's I-frames
                        out.mux(vout.encode(image))
                    else:
                        frame.pts = None  # the resampler restamps; gaps are not expected
                        for chunk in resampler.resample(frame):
                            out.mux(aout.encode(chunk))
            if vout is not None:
                out.mux(vout.encode())
            if aout is not None:
                for chunk in resampler.resample(None):
                    out.mux(aout.encode(chunk))
                out.mux(aout.encode())
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
    os.replace(tmp, dst)


def _job(task) -> Optional[str]:
    src, dst, kwargs = task
    try:
        reencode(src, dst, **kwargs)
    except Exception as error:  # reported at the end; the run goes on
        return f'{src}: {error}'.splitlines()[0]
    return None


def plan(src_root: str, dst_root: str):
    """(video tasks, other files to copy): sources whose output is missing."""
    videos, others = [], []
    for folder, _, files in os.walk(src_root):
        for name in sorted(files):
            src = osp.join(folder, name)
            rel = osp.relpath(src, src_root)
            stem, ext = osp.splitext(rel)
            if ext.lower() in VIDEO_EXTS:
                dst = osp.join(dst_root, stem + '.mp4')
                if not osp.exists(dst):
                    videos.append((src, dst))
            elif not name.endswith('.part') and not osp.exists(osp.join(dst_root, rel)):
                others.append((src, osp.join(dst_root, rel)))
    return videos, others


def main(argv=None) -> int:
    from mmengine.utils import ProgressBar
    args = parse_args(argv)
    if osp.abspath(args.src) == osp.abspath(args.dst):
        sys.exit('prepare_clips.py: DST must differ from SRC')
    videos, others = plan(args.src, args.dst)
    for src, dst in others:
        os.makedirs(osp.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    kwargs = dict(short_side=args.short_side, keyframe_interval=args.keyframe_interval,
                  sample_rate=args.sample_rate, crf=args.crf, preset=args.preset, fps=args.fps,
                  fast_decode=args.fast_decode)
    print(f'{len(videos)} clips to re-encode into {args.dst} with {args.workers} processes')
    failures = []
    if videos:
        bar = ProgressBar(len(videos))
        tasks = [(src, dst, kwargs) for src, dst in videos]
        if args.workers > 1:
            with get_context('fork').Pool(args.workers) as pool:
                for failure in pool.imap_unordered(_job, tasks):
                    failures.append(failure)
                    bar.update()
        else:
            for task in tasks:
                failures.append(_job(task))
                bar.update()
        print()
    failures = [f for f in failures if f]
    for failure in failures:
        print(f'skipped (unreadable): {failure}')
    print(f'done: {len(videos) - len(failures)} written, {len(failures)} skipped')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
