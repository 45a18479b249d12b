"""Training-step throughput of a config on random inputs.

``python tools/analysis/benchmark_train_step.py CONFIG [--batch-size 8] [--iters 10]
[--warmup 2] [--amp] [--device cuda]``

Times forward(mode='loss') + backward + optimizer step (the config's optimizer, fp32
``OptimWrapper``; ``--amp``: ``AmpOptimWrapper`` with bf16, GPU only), excluding data loading
and the data preprocessor. Prints samples/s, seconds per step and the peak memory (CUDA
allocator peak on GPUs, the process's peak RSS on CPUs).
"""
import argparse
import os.path as osp
import resource
import sys
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from get_model_info import build_model, synthetic_inputs  # noqa: E402


def benchmark(cfg: Config, batch_size: int, iters: int, warmup: int, amp: bool,
              device: str) -> dict:
    """Run ``warmup + iters`` training steps; return the timing of the last ``iters``."""
    model = build_model(cfg, device)
    model.train()
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.pop('dtype', None)
    if amp:
        if not device.startswith('cuda'):
            raise ValueError('--amp needs a CUDA device (mmengine AmpOptimWrapper)')
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    else:
        optim_cfg['type'] = 'OptimWrapper'
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    inputs = synthetic_inputs(model, batch_size, device)

    def step():
        with optim_wrapper.optim_context(model):
            losses = model(inputs, None, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim_wrapper.update_params(loss)

    for _ in range(warmup):
        step()
    cuda = device.startswith('cuda')
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    if cuda:
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() if cuda else
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    return dict(
        samples_per_s=batch_size * iters / elapsed,
        s_per_iter=elapsed / iters,
        peak_mem_mib=peak / 2**20,
        peak_mem_kind='CUDA allocator peak' if cuda else 'process peak RSS')


def main(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a training step on random inputs')
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=8, help='per-device batch size')
    parser.add_argument('--iters', type=int, default=10, help='timed steps')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first')
    parser.add_argument('--amp', action='store_true', help='bf16 AmpOptimWrapper (CUDA only)')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or args.batch_size < 1:
        parser.error('--iters and --batch-size must be >= 1, --warmup >= 0')

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    result = benchmark(cfg, args.batch_size, args.iters, args.warmup, args.amp, args.device)
    print(f'{args.config}: batch {args.batch_size} on {args.device}'
          f'{" (bf16)" if args.amp else ""}: {result["samples_per_s"]:.2f} samples/s, '
          f'{result["s_per_iter"]:.3f} s/step, {result["peak_mem_kind"]} '
          f'{result["peak_mem_mib"]:.0f} MiB')
    return result


if __name__ == '__main__':
    main()
