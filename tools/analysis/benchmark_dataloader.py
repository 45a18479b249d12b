"""Throughput of a config's data loading: clips per second and time per pipeline stage.

    python tools/analysis/benchmark_dataloader.py configs/_base_/datasets/demo_pretrain.py \
        --num-workers 2 [--num-batches 20] [--split train] \
        [--cfg-options train_dataloader.dataset.data_root=/tmp/demo_bench]

Two measurements:

1. the config's DataLoader (batch size, sampler, collate) with ``--num-workers`` workers:
   clips per second after one warm-up batch;
2. the pipeline in this process, one clip at a time, timing every transform, grouped into
   stages: video decode (``SampleVideoFrames``), audio decode (``LoadAudio``), fbank
   (``AudioFbank``), augmentation (the other transforms but packing), packing.

It is a benchmark, not a test; numbers depend on the machine, the files and the OS cache.
"""
import argparse
import time
from collections import defaultdict

from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from mavilkit.utils.setup_env import register_all_modules

STAGES = dict(SampleVideoFrames='video decode', LoadAudio='audio decode', AudioFbank='fbank',
              PackAVInputs='packing')


def parse_args():
    parser = argparse.ArgumentParser(description='benchmark data loading')
    parser.add_argument('config')
    parser.add_argument('--num-workers', type=int, default=None,
                        help='DataLoader workers (default: the config\'s)')
    parser.add_argument('--num-batches', type=int, default=20)
    parser.add_argument('--num-clips-per-stage', type=int, default=20,
                        help='clips timed transform by transform')
    parser.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


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


def main():
    args = parse_args()
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

    stages, count = time_stages(leaf_dataset(loader.dataset), args.num_clips_per_stage)
    total = sum(stages.values())
    print(f'Per-clip time by stage (one process, {count} clips):')
    for stage in ('video decode', 'audio decode', 'fbank', 'augmentation', 'packing'):
        if stage in stages:
            print(f'  {stage:<13} {stages[stage] * 1000:8.1f} ms  '
                  f'({100 * stages[stage] / total:4.1f} %)')
    print(f'  {"total":<13} {total * 1000:8.1f} ms  = {1 / total:.1f} clips/s per process')


if __name__ == '__main__':
    main()
