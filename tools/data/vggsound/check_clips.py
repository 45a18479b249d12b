"""Check which VGGSound clips listed in ``vggsound.csv`` exist locally; write the missing list.

    python tools/data/vggsound/check_clips.py data/vggsound [--video-dir video] \
        [--filename-tmpl '{ytid}_{start:06d}.mp4'] [--out data/vggsound/missing.csv]

Prints the present / missing counts per split and writes the missing rows in the format of
``vggsound.csv`` (``ytid,start_seconds,label,split``), ready to feed a downloader.
"""
import argparse
import csv
import os.path as osp
from collections import Counter

from mavilkit.datasets.base_av_dataset import find_missing


def parse_args():
    parser = argparse.ArgumentParser(description='find missing VGGSound clips')
    parser.add_argument('data_root')
    parser.add_argument('--ann-file', default='vggsound.csv')
    parser.add_argument('--video-dir', default='video')
    parser.add_argument('--filename-tmpl', default='{ytid}_{start:06d}.mp4',
                        help='as VGGSoundDataset(filename_tmpl=...)')
    parser.add_argument('--out', default=None, help='default: DATA_ROOT/missing.csv')
    return parser.parse_args()


def main():
    args = parse_args()
    with open(osp.join(args.data_root, args.ann_file), newline='') as f:
        rows = [r for r in csv.reader(f) if len(r) == 4]
    paths = [osp.join(args.data_root, args.video_dir,
                      args.filename_tmpl.format(ytid=r[0], start=int(float(r[1]))))
             for r in rows]
    missing = set(find_missing(paths))
    out = args.out or osp.join(args.data_root, 'missing.csv')
    with open(out, 'w', newline='') as f:
        csv.writer(f).writerows(r for r, p in zip(rows, paths) if p in missing)
    total, lost = Counter(r[3] for r in rows), Counter(r[3] for r, p in zip(rows, paths)
                                                       if p in missing)
    for split in sorted(total):
        print(f'{split}: {total[split] - lost[split]} of {total[split]} clips present')
    print(f'{len(missing)} missing clips listed in {out}')


if __name__ == '__main__':
    main()
