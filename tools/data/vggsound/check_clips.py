"""Check the VGGSound clips listed in ``vggsound.csv``: which are missing, and the facts of each
present file that the reading rules depend on.

    python tools/data/vggsound/check_clips.py data/vggsound [--video-dir video] \
        [--filename-tmpl '{ytid}_{start:06d}.mp4'] [--out data/vggsound/missing.csv] \
        [--facts-out data/vggsound/facts.csv] [--no-probe]

Prints the CSV's encoding (BOM, CRLF line ends, trailing blanks), the present / missing counts
per split and writes the missing rows in the format of ``vggsound.csv``
(``ytid,start_seconds,label,split``), ready to feed a downloader. It then reads the header of
every present file (PyAV, with a progress bar), writes the per-file facts (codec, channel
layout, constant or variable frame rate, first timestamp and duration of each stream) and prints
how many files fall under each rule of ``docs/en/user_guides/data_pipeline.md`` ("Reading
media"). ``--no-probe`` skips the per-file facts.
"""
import argparse
import csv
import os.path as osp
from collections import Counter

from mavilkit.datasets.base_av_dataset import find_missing
from mavilkit.datasets.media_info import probe_all, summarise, text_encoding, write_facts


def parse_args():
    parser = argparse.ArgumentParser(description='find missing VGGSound clips')
    parser.add_argument('data_root')
    parser.add_argument('--ann-file', default='vggsound.csv')
    parser.add_argument('--video-dir', default='video')
    parser.add_argument('--filename-tmpl', default='{ytid}_{start:06d}.mp4',
                        help='as VGGSoundDataset(filename_tmpl=...)')
    parser.add_argument('--out', default=None, help='default: DATA_ROOT/missing.csv')
    parser.add_argument('--facts-out', default=None, help='default: DATA_ROOT/facts.csv')
    parser.add_argument('--no-probe', action='store_true', help='skip the per-file facts')
    return parser.parse_args()


def main():
    args = parse_args()
    ann_path = osp.join(args.data_root, args.ann_file)
    enc = text_encoding(ann_path)
    print(f"{args.ann_file}: BOM {enc['bom'] or 'none'}, UTF-8 {'yes' if enc['utf8'] else 'no'}, "
          f"{enc['crlf']} CRLF line ends, {enc['trailing_space']} lines with trailing blanks")
    with open(ann_path, newline='') as f:
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
    if not args.no_probe:
        facts = probe_all([p for p in paths if p not in missing])
        facts_out = args.facts_out or osp.join(args.data_root, 'facts.csv')
        write_facts(facts_out, facts)
        print('\n'.join(summarise(facts)) + f'\n  per-file facts in {facts_out}')


if __name__ == '__main__':
    main()
