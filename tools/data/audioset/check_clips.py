"""Check the AudioSet clips listed in the segment CSVs: which are missing, and the facts of each
present file that the reading rules depend on.

    python tools/data/audioset/check_clips.py data/audioset \
        [--split eval_segments.csv:eval balanced_train_segments.csv:balanced_train ...] \
        [--filename-tmpl '{ytid}_{start}_{end}.mp4'] [--out-dir data/audioset/missing] \
        [--no-probe]

For each ``CSV:FOLDER`` pair (relative to the data root) it prints the CSV's encoding (BOM, CRLF
line ends, trailing blanks), how many clips are present, and writes ``missing_<csv name>.csv``
with the missing rows in Google's format (``YTID, start_seconds, end_seconds, "labels"``),
ready to feed a downloader. It then reads the header of every present file (PyAV, with a
progress bar), writes ``facts_<csv name>.csv`` (codec, channel layout, constant or variable
frame rate, first timestamp and duration of each stream) and prints how many files fall under
each rule of ``docs/en/user_guides/data_pipeline.md`` ("Reading media"). ``--no-probe`` skips
the per-file facts.
"""
import argparse
import os
import os.path as osp

from mavilkit.datasets.audioset import parse_audioset_segments
from mavilkit.datasets.base_av_dataset import find_missing
from mavilkit.datasets.media_info import probe_all, summarise, text_encoding, write_facts

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
    parser.add_argument('--no-probe', action='store_true', help='skip the per-file facts')
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
        enc = text_encoding(csv_path)
        print(f"{csv_name}: BOM {enc['bom'] or 'none'}, UTF-8 {'yes' if enc['utf8'] else 'no'}, "
              f"{enc['crlf']} CRLF line ends, {enc['trailing_space']} lines with trailing blanks")
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
        if not osp.isdir(osp.join(args.data_root, folder)):
            print(f'  folder {osp.join(args.data_root, folder)} does not exist; name the '
                  f'folder of {csv_name} with --split {csv_name}:FOLDER')
        if not args.no_probe and len(missing) == len(rows):
            print('  no files probed (no clips present)')
        elif not args.no_probe:
            facts = probe_all([p for p in paths if p not in missing])
            facts_out = osp.join(out_dir, f'facts_{osp.splitext(csv_name)[0]}.csv')
            write_facts(facts_out, facts)
            print('\n'.join(summarise(facts)) + f'\n  per-file facts in {facts_out}')


if __name__ == '__main__':
    main()
