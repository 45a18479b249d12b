"""Evaluate a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [options]``."""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # run from a checkout

from mavilkit.apis import build_runner, default_work_dir, merge_cfg_options  # noqa: E402
from mavilkit.utils import add_trusted_root, destroy_distributed  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (evaluate) a mavilkit model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the metrics and logs')
    parser.add_argument(
        '--out',
        help='also dump per-clip predictions to this pickle file (mmengine DumpResults)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, help='override settings in the config')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm'], default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    merge_cfg_options(cfg, args.cfg_options)
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = default_work_dir(args.config)
    # The user names this checkpoint explicitly: it may hold our full training state.
    add_trusted_root(osp.dirname(osp.abspath(args.checkpoint)))
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.out is not None:
        evaluator = cfg.test_evaluator
        evaluator = list(evaluator) if isinstance(evaluator, (list, tuple)) else [evaluator]
        evaluator.append(dict(type='DumpResults', out_file_path=args.out))
        cfg.test_evaluator = evaluator
    try:
        runner = build_runner(cfg)
        metrics = runner.test()
        if runner.rank == 0:
            import json
            print(json.dumps({k: float(v) for k, v in metrics.items()
                              if isinstance(v, (int, float))}, indent=2))
            with open(osp.join(runner.log_dir, 'metrics.json'), 'w') as f:
                json.dump({k: float(v) for k, v in metrics.items()
                           if isinstance(v, (int, float))}, f, indent=2)
    finally:
        destroy_distributed()


if __name__ == '__main__':
    main()
