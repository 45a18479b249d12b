"""Check which AudioSet clips listed in the segment CSVs exist locally; write the missing list.

    python tools/data/audioset/check_clips.py data/audioset \
        [--split eval_segments.csv:eval balanced_train_segments.csv:balanced_train ...] \
        [--filename-tmpl '{ytid}_{start}_{end}.mp4'] [--out-dir data/audioset/missing]

For each ``CSV:FOLDER`` pair (relative to the data root) it prints how many clips are present
and writes ``missing_<csv name>.csv`` with the missing rows in Google's format (``YTID,
start_seconds, end_seconds, "labels"``), ready to feed a downloader. ``AudioSetDataset`` skips
missing clips on its own; this tool tells you how many and which.
"""
import argparse
import os
import os.path as osp

from mavilkit.datasets.audioset import parse_audioset_segments
from mavilkit.datasets.base_av_dataset import find_missing

DEFAULT_SPLITS = ['eval_segments.csv:eval', 'balanced_train_segments.csv:balanced_train',
                  'unbalanced_train_segments.csv:unbalanced_train']


def parse_args():
    parser = argparse.ArgumentParser(description='find missing AudioSet clips')
    parser.add_argument('data_root')
    parser.add_argument('--split', nargs='+', default=DEFAULT_SPLITS,
                        help='CSV:FOLDER pairs relative to data_root')
    parser.add_argument('--filename-tmpl', default='{ytid}_{start}_{end}.mp4',
                        help='as AudioSetDataset(filename_tmpl=...)')
    parser.add_argument('--out-dir', default=None, help='default: DATA_ROOT/missing')
    return parser.parse_args()


def main():
    args = parse_args()
    out_dir = args.out_dir or osp.join(args.data_root, 'missing')
    os.makedirs(out_dir, exist_ok=True)
    for pair in args.split:
        csv_name, _, folder = pair.partition(':')
        csv_path = osp.join(args.data_root, csv_name)
        if not osp.isfile(csv_path):
            print(f'{csv_path}: not found, skipped')
            continue
        rows, paths = [], []
        for _, ytid, start, end, labels in parse_audioset_segments(csv_path):
            name = args.filename_tmpl.format(ytid=ytid, start=int(start), end=int(end),
                                             start_ms=int(round(start * 1000)),
                                             end_ms=int(round(end * 1000)))
            rows.append(f'{ytid}, {start:.3f}, {end:.3f}, "{labels}"\n')
            paths.append(osp.join(args.data_root, folder, name))
        missing = set(find_missing(paths))
        out = osp.join(out_dir, f'missing_{osp.splitext(csv_name)[0]}.csv')
        with open(out, 'w') as f:
            f.write('# YTID, start_seconds, end_seconds, positive_labels\n')
            f.writelines(r for r, p in zip(rows, paths) if p in missing)
        print(f'{csv_name}: {len(rows) - len(missing)} of {len(rows)} clips present in '
              f'{osp.join(args.data_root, folder)}; {len(missing)} missing listed in {out}')


if __name__ == '__main__':
    main()
