"""Write the synthetic audio-visual demo dataset in AudioSet's layout.

    python tools/data/make_demo_dataset.py data/demo [--num-clips 96]

Four event classes whose picture and sound correspond (see ``mavilkit/testing/demo_clips.py``),
10-second H.264 + AAC mp4 clips (96×96 at 10 fps, 16 kHz mono), segment CSVs with Google's
comment header and quoted multi-labels, and ``class_labels_indices.csv``. A quarter of the clips
form the eval split.
"""
import argparse
import os
import time

from mavilkit.testing import make_demo_dataset


def parse_args():
    parser = argparse.ArgumentParser(description='Write the synthetic demo dataset')
    parser.add_argument('out_dir', help='output folder, e.g. data/demo')
    parser.add_argument('--num-clips', type=int, default=96, help='clips in both splits')
    parser.add_argument('--duration', type=float, default=10., help='seconds per clip')
    parser.add_argument('--size', type=int, default=96, help='frame height and width (even)')
    parser.add_argument('--fps', type=int, default=10, help='video frame rate')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--workers', type=int, default=min(os.cpu_count() or 1, 4),
                        help='processes writing clips')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.num_clips < 2:
        raise SystemExit('--num-clips must be at least 2 (one train and one eval clip)')
    if args.size % 2:
        raise SystemExit('--size must be even (H.264 with yuv420p)')
    start = time.time()
    splits = make_demo_dataset(args.out_dir, num_clips=args.num_clips, duration=args.duration,
                               fps=args.fps, size=args.size, seed=args.seed,
                               workers=args.workers, progress=True)
    print(f'\nWrote {splits["train"]} train and {splits["eval"]} eval clips to {args.out_dir} '
          f'in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
