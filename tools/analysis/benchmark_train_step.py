"""Training-step throughput, achieved TFLOP/s and MFU of one or more configs on random inputs.

``python tools/analysis/benchmark_train_step.py CONFIG [CONFIG ...] [--batch-size 8 32]
[--iters 10] [--warmup 3] [--amp] [--tf32] [--compile off|on|both] [--random-teacher]
[--sync-debug] [--json OUT] [--device cuda]``

Times forward(mode='loss') + backward + optimizer step (the config's optimizer; AdamW is
``fused`` on CUDA unless ``--no-fused``), excluding data loading and the data preprocessor. For
every config × batch size × compile setting it prints:

- samples/s and s/step;
- achieved TFLOP/s: the model FLOPs of one step (``get_model_info.train_step_flops``, attention
  included, counted once on the meta device) divided by the measured step time;
- MFU: that over the device's dense peak. On a known GPU (A100, H100, H200) the peak is the
  vendor's dense figure for the precision (bf16 with ``--amp``, tf32 with ``--tf32``, else fp32);
  otherwise, and always on a CPU, it is a square matmul measured here (``measured matmul peak``),
  which is reported next to the table peak on GPUs too;
- the peak memory (CUDA allocator peak on a GPU; the process's peak RSS on a CPU, which never
  goes down within a process) and the activations saved for backward in one step
  (``saved_mib``, measured with ``torch.autograd.graph.saved_tensors_hooks``, device-independent);
- for stage-2 configs, the teacher's share: its forward timed alone over the same batches,
  over the step time, and its share of the step's FLOPs;
- the SDPA kernel that attention of these shapes and dtype runs on this device.

``--amp`` is bf16 autocast (``AmpOptimWrapper``) with loss scaling off: bf16 has fp32's exponent
range, and the dynamic scaler's inf check is a host-device sync every step. ``--sync-debug``
runs the timed steps under ``torch.cuda.set_sync_debug_mode('error')`` and reports the first
synchronising call, if any. ``--random-teacher`` gives a stage-2 config a stage-1 teacher with
random weights (written to a temporary file): the teacher's cost does not depend on its weights.
"""
import argparse
import copy
import json
import os
import os.path as osp
import resource
import sys
import tempfile
import time
import warnings
from typing import Dict, List, Optional

import torch
import torch.nn.functional as F
from mmengine.config import Config, DictAction
from mmengine.optim import build_optim_wrapper
from torch.utils._python_dispatch import TorchDispatchMode

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from get_model_info import build_model, synthetic_inputs, train_step_flops  # noqa: E402

from mavilkit.models.utils.masking import num_visible_tokens  # noqa: E402

#: Dense (no sparsity) peak TFLOP/s from NVIDIA's data sheets (SXM parts unless named).
PEAK_TFLOPS = {
    'A100': dict(bf16=312.0, tf32=156.0, fp32=19.5),
    'H100 PCIe': dict(bf16=756.0, tf32=378.0, fp32=51.2),
    'H100': dict(bf16=989.4, tf32=494.7, fp32=66.9),
    'H200': dict(bf16=989.4, tf32=494.7, fp32=66.9),
}


def known_peak(device_name: str, precision: str) -> Optional[float]:
    """Dense peak TFLOP/s of a GPU named like ``'NVIDIA H200'`` for ``bf16|tf32|fp32``, or None."""
    name = device_name.upper()
    if 'H100' in name and 'PCIE' in name:
        return PEAK_TFLOPS['H100 PCIe'][precision]
    for key in ('H200', 'H100', 'A100'):
        if key in name:
            return PEAK_TFLOPS[key][precision]
    return None


def measure_matmul_peak(device: str, dtype: torch.dtype, size: Optional[int] = None,
                        reps: int = 5) -> float:
    """Best TFLOP/s of a square ``size × size`` matmul (``2·size³`` FLOPs) on ``device``.

    The ceiling this machine reaches on the kernel a training step is made of; on a CPU it uses
    ``torch.get_num_threads()`` threads and depends on what else runs on the cores.
    """
    cuda = device.startswith('cuda')
    size = size or (8192 if cuda else 1024)
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float('inf')
    for _ in range(reps + 1):  # the first call warms up (allocations, kernel choice)
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if cuda:
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e12


class _OpRecorder(TorchDispatchMode):
    """Names of the aten ops run inside the mode."""

    def __init__(self):
        super().__init__()
        self.ops: List[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func.overloadpacket.__name__))
        return func(*args, **(kwargs or {}))


def sdpa_kernel(device: str, dtype: torch.dtype, batch: int, heads: int, tokens: int,
                head_dims: int) -> str:
    """The aten kernel ``F.scaled_dot_product_attention`` dispatches to for these shapes.

    E.g. ``_scaled_dot_product_flash_attention`` (CUDA flash), ``..._efficient_attention``,
    ``..._cudnn_attention``, ``..._flash_attention_for_cpu`` or ``math`` (the unfused
    fallback: ``bmm`` + ``softmax``).
    """
    q = torch.randn(batch, heads, tokens, head_dims, device=device, dtype=dtype)
    recorder = _OpRecorder()
    with torch.no_grad(), recorder:
        F.scaled_dot_product_attention(q, q, q)
    fused = [op for op in recorder.ops if 'attention' in op]
    return fused[0] if fused else 'math (' + ', '.join(dict.fromkeys(recorder.ops)) + ')'


def saved_activation_bytes(model, inputs, autocast_dtype=None) -> int:
    """Bytes of the tensors autograd saves for backward in one ``forward(mode='loss')``.

    Distinct storages only (views of one tensor count once); parameters saved by reference
    are not activations and are left out.
    """
    params = {p.data_ptr() for p in model.parameters()}
    seen = {}

    def pack(t):
        if t.device.type != 'meta':
            ptr = t.untyped_storage().data_ptr()
            if ptr not in params:
                seen[ptr] = t.untyped_storage().nbytes()
        return t

    device_type = next(iter(inputs.values())).device.type
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), torch.autocast(
            device_type, dtype=autocast_dtype or torch.float32,
            enabled=autocast_dtype is not None):
        losses = model(inputs, None, mode='loss')
    del losses
    model.zero_grad(set_to_none=True)
    return sum(seen.values())


def write_random_teacher(cfg: Config, work_dir: str) -> Config:
    """Point a stage-2 config's teacher at a random-weight checkpoint written to ``work_dir``."""
    cfg = copy.deepcopy(cfg)
    target = cfg.model.get('target_generator', {})
    teacher_cfg = target.get('teacher_config')
    if teacher_cfg is None:
        return cfg
    model_cfg = Config.fromfile(teacher_cfg) if isinstance(teacher_cfg, str) else Config(
        dict(model=teacher_cfg.get('model', teacher_cfg)))
    teacher = build_model(model_cfg, 'cpu')
    path = osp.join(work_dir, 'random_teacher.pth')
    torch.save(dict(state_dict=teacher.state_dict()), path)
    del teacher
    cfg.model.target_generator.teacher_checkpoint = path
    return cfg


def _optim_wrapper(cfg: Config, model, amp: bool, device: str, fused: bool):
    optim_cfg = copy.deepcopy(cfg.optim_wrapper)
    optim_cfg.pop('dtype', None)
    optim_cfg.pop('loss_scale', None)
    cuda = device.startswith('cuda')
    if amp:
        if not cuda:
            raise ValueError('--amp needs a CUDA device (mmengine AmpOptimWrapper)')
        # bf16 needs no loss scaling; the dynamic scaler would sync every step (inf check).
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16',
                         loss_scale=dict(enabled=False))
    else:
        optim_cfg['type'] = 'OptimWrapper'
    if fused and cuda and optim_cfg.optimizer.get('type') in ('AdamW', 'Adam'):
        optim_cfg.optimizer['fused'] = True
    return build_optim_wrapper(model, optim_cfg)


def benchmark(cfg: Config, batch_size: int, iters: int, warmup: int, amp: bool, device: str,
              compile_blocks=False, fused: bool = True, sync_debug: bool = False,
              flops: Optional[Dict[str, int]] = None) -> dict:
    """Run ``warmup + iters`` training steps; return the timing of the last ``iters``.

    Returns:
        dict: ``samples_per_s``, ``s_per_iter``, ``warmup_s`` (includes compilation),
        ``peak_mem_mib`` / ``peak_mem_kind``, ``saved_mib``, ``teacher_s`` (the target
        generator's forward alone per step; 0 without a teacher), ``sync`` (None, or the first
        synchronising call under ``--sync-debug``), and with ``flops`` given ``tflops``.
    """
    cfg = copy.deepcopy(cfg)
    if compile_blocks:
        cfg.model['compile_blocks'] = compile_blocks
    model = build_model(cfg, device)
    model.train()
    optim_wrapper = _optim_wrapper(cfg, model, amp, device, fused)
    inputs = synthetic_inputs(model, batch_size, device)
    cuda = device.startswith('cuda')

    def step():
        with optim_wrapper.optim_context(model):
            losses = model(inputs, None, mode='loss')
        loss, _ = model.parse_losses(losses)
        optim_wrapper.update_params(loss)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    start = time.perf_counter()
    for _ in range(warmup):
        step()
    sync()
    warmup_s = time.perf_counter() - start
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    sync_error = None
    start = time.perf_counter()
    for _ in range(iters):
        if sync_debug and cuda and sync_error is None:
            torch.cuda.set_sync_debug_mode('error')
            try:
                step()
            except RuntimeError as e:  # the first synchronising call of the step
                sync_error = str(e).splitlines()[0]
            finally:
                torch.cuda.set_sync_debug_mode('default')
        else:
            step()
    sync()
    elapsed = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() if cuda else
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)

    teacher_s = 0.
    generator = getattr(model, 'target_generator', None)
    if generator is not None and next(iter(getattr(generator, 'teachers', lambda: ())()),
                                      None) is not None:
        with optim_wrapper.optim_context(model):
            generator(inputs)  # warm
            sync()
            t0 = time.perf_counter()
            for _ in range(iters):
                generator(inputs)
            sync()
        teacher_s = (time.perf_counter() - t0) / iters
    saved = saved_activation_bytes(model, inputs, torch.bfloat16 if amp else None)
    result = dict(
        samples_per_s=batch_size * iters / elapsed,
        s_per_iter=elapsed / iters,
        warmup_s=warmup_s,
        peak_mem_mib=peak / 2**20,
        peak_mem_kind='CUDA allocator peak' if cuda else 'process peak RSS',
        saved_mib=saved / 2**20,
        teacher_s=teacher_s,
        sync=sync_error)
    if flops is not None:
        result['tflops'] = flops['train_step'] / result['s_per_iter'] / 1e12
    model = optim_wrapper = None  # free them (the closure `step` holds them too)
    if cuda:
        torch.cuda.empty_cache()
    return result


def _precision(amp: bool, device: str) -> str:
    if amp:
        return 'bf16'
    if device.startswith('cuda') and torch.backends.cuda.matmul.allow_tf32:
        return 'tf32'
    return 'fp32'


def main(argv=None):
    parser = argparse.ArgumentParser(description='Benchmark a training step on random inputs')
    parser.add_argument('config', nargs='+', help='one or more configs (e.g. stage 1 and 2)')
    parser.add_argument('--batch-size', type=int, nargs='+', default=[8],
                        help='per-device batch sizes to sweep')
    parser.add_argument('--iters', type=int, default=10, help='timed steps')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first')
    parser.add_argument('--amp', action='store_true', help='bf16 AmpOptimWrapper (CUDA only)')
    parser.add_argument('--tf32', action='store_true', help='fp32 matmuls on TF32 tensor cores')
    parser.add_argument('--compile', choices=('off', 'on', 'both'), default='off',
                        help='regional torch.compile of the Transformer blocks (model.'
                        'compile_blocks)')
    parser.add_argument('--compile-backend', default='inductor')
    parser.add_argument('--no-fused', action='store_true', help='un-fused AdamW on CUDA')
    parser.add_argument('--random-teacher', action='store_true',
                        help='stage-2 configs: a random-weight teacher checkpoint')
    parser.add_argument('--sync-debug', action='store_true',
                        help='CUDA: fail-check the timed steps for host-device syncs')
    parser.add_argument('--peak-tflops', type=float, default=None,
                        help='dense peak of this device for the precision (overrides)')
    parser.add_argument('--json', default=None, help='write the results to this file')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0 or min(args.batch_size) < 1:
        parser.error('--iters and --batch-size must be >= 1, --warmup >= 0')
    cuda = args.device.startswith('cuda')
    if args.amp and not cuda:
        raise ValueError('--amp needs a CUDA device (mmengine AmpOptimWrapper)')
    if args.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    precision = _precision(args.amp, args.device)
    dtype = torch.bfloat16 if args.amp else torch.float32

    device_name = (torch.cuda.get_device_name(args.device) if cuda else
                   f'CPU, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores')
    measured = measure_matmul_peak(args.device, dtype)
    table = known_peak(device_name, precision) if cuda else None
    peak = args.peak_tflops or table or measured
    peak_src = ('--peak-tflops' if args.peak_tflops else
                f'{device_name} data sheet' if table else 'measured matmul peak')
    print(f'Device: {device_name}; precision {precision}; measured {precision} matmul peak '
          f'{measured:.2f} TFLOP/s' + (f'; data-sheet dense peak {table:g} TFLOP/s' if table
                                       else '') + f'; MFU against {peak_src} ({peak:.2f})')

    compiles = {'off': [False], 'on': [True], 'both': [False, True]}[args.compile]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.config:
            cfg = Config.fromfile(config)
            if args.cfg_options:
                cfg.merge_from_dict(args.cfg_options)
            if args.random_teacher:
                cfg = write_random_teacher(cfg, tmp)
            with warnings.catch_warnings():  # a real teacher checkpoint into meta tensors
                warnings.simplefilter('ignore')
                probe = build_model(cfg, 'meta')
            bb = probe.audio_backbone
            for batch in args.batch_size:
                flops = train_step_flops(probe, batch, 'meta')
                # the audio encoder's attention: 2B sequences (two views) of 1 + L tokens
                tokens = 1 + num_visible_tokens(bb.num_patches, probe.mask_ratio)
                kernel = sdpa_kernel(args.device, dtype, 2 * batch, bb.num_heads, tokens,
                                     bb.embed_dims // bb.num_heads)
                for compiled in compiles:
                    option = dict(backend=args.compile_backend) if compiled else False
                    row = dict(config=osp.basename(config), batch=batch, compile=compiled,
                               precision=precision, device=device_name, sdpa=kernel,
                               gflop_per_sample=flops['train_step'] / batch / 1e9,
                               teacher_flop_share=flops['target'] / flops['train_step'])
                    try:
                        row.update(benchmark(cfg, batch, args.iters, args.warmup, args.amp,
                                             args.device, option, not args.no_fused,
                                             args.sync_debug, flops))
                    except torch.cuda.OutOfMemoryError:
                        row['oom'] = True
                        torch.cuda.empty_cache()
                        print(f'{row["config"]}: batch {batch}: out of memory')
                        results.append(row)
                        continue
                    row.update(mfu=row['tflops'] / peak, peak_tflops=peak, peak_source=peak_src,
                               measured_matmul_tflops=measured,
                               teacher_time_share=row['teacher_s'] / row['s_per_iter'])
                    results.append(row)
                    print(_line(row))
            del probe
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1)
    return results if len(results) > 1 else results[0]


def _line(r: dict) -> str:
    text = (f'{r["config"]}: batch {r["batch"]} {r["precision"]}'
            f'{" compiled" if r["compile"] else ""}: {r["samples_per_s"]:.2f} samples/s, '
            f'{r["s_per_iter"]:.3f} s/step (warm-up {r["warmup_s"]:.1f} s), '
            f'{r["gflop_per_sample"]:.1f} GFLOP/sample, {r["tflops"]:.3f} TFLOP/s, '
            f'MFU {100 * r["mfu"]:.1f} %, {r["peak_mem_kind"]} {r["peak_mem_mib"]:.0f} MiB, '
            f'saved activations {r["saved_mib"]:.0f} MiB, SDPA {r["sdpa"]}')
    if r['teacher_s']:
        text += (f', teacher {100 * r["teacher_time_share"]:.1f} % of the step time '
                 f'({100 * r["teacher_flop_share"]:.1f} % of its FLOPs)')
    if r.get('sync'):
        text += f', HOST-DEVICE SYNC: {r["sync"]}'
    return text


if __name__ == '__main__':
    main()
