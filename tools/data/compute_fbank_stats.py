"""Mean and standard deviation of the Kaldi fbank over a dataset, for a new dataset's config.

    python tools/data/compute_fbank_stats.py configs/_base_/datasets/demo_pretrain.py \
        [--max-clips 2000] [--num-workers 4]

The training set of the config is read with ``LoadAudio`` + ``AudioFbank`` without padding
(``mean=None``, long ``target_length``), so silence added by padding does not bias the
statistics. A progress bar shows the clips read and the ETA. Add the printed numbers to
``fbank_stats`` in ``configs/_base_/datasets/av_transforms.py`` and pass them to ``AudioFbank``
(``**_base_.fbank_stats.<dataset>``); the transform then computes ``(x - mean) / (2 * std)``.
"""
import argparse

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import ProgressBar

from mavilkit.registry import DATASETS
from mavilkit.utils.setup_env import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='fbank statistics of a dataset')
    parser.add_argument('config', help='config with a train_dataloader')
    parser.add_argument('--max-clips', type=int, default=2000, help='clips to read (random)')
    parser.add_argument('--num-workers', type=int, default=2)
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def strip_pipeline(dataset_cfg: dict) -> dict:
    """The dataset config with the pipeline replaced by audio loading + raw fbank."""
    cfg = dict(dataset_cfg)
    if 'datasets' in cfg:
        cfg['datasets'] = [strip_pipeline(d) for d in cfg['datasets']]
        return cfg
    if 'dataset' in cfg:
        cfg['dataset'] = strip_pipeline(cfg['dataset'])
        return cfg
    fbank = next((dict(t) for t in cfg.get('pipeline', []) if t['type'] == 'AudioFbank'),
                 dict(type='AudioFbank'))
    fbank.update(mean=None, target_length=100000)
    cfg['pipeline'] = [dict(type='LoadAudio'), fbank]
    return cfg


def main():
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mavilkit'))
    dataset = DATASETS.build(strip_pipeline(cfg.train_dataloader.dataset.to_dict()))
    rng = np.random.default_rng(args.seed)
    indices = rng.permutation(len(dataset))[:args.max_clips].tolist()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.Subset(dataset, indices), batch_size=None,
        num_workers=args.num_workers, collate_fn=lambda x: x)
    total, total_sq, count = 0., 0., 0
    bar = ProgressBar(len(indices))
    for results in loader:
        bar.update()
        fbank = torch.from_numpy(results['audio'][:results['audio_num_frames']]).double()
        total += fbank.sum().item()
        total_sq += fbank.square().sum().item()
        count += fbank.numel()
    mean = total / count
    std = (total_sq / count - mean ** 2) ** 0.5
    print(f'\n{len(indices)} clips, {count} fbank values')
    print(f'mean={mean:.3f}, std={std:.3f}')


if __name__ == '__main__':
    main()
