"""Parameters, tokens and FLOPs of a pre-training, fine-tuning or retrieval config.

``python tools/analysis/get_model_info.py CONFIG [--batch-size 1] [--device meta]``

For a downstream model (``AVClassifier``, ``AVRetriever``: a model without ``mask_ratio``) it
prints the parameters, the tokens per modality (all patches, no masking) and the FLOPs of one
evaluation forward (``mode='tensor'`` in ``eval()`` mode, no masking), attention counted as below.

Prints the parameters of each top-level part of the model (encoders f_a, f_v, fusion g_av,
decoders, ...), the tokens per modality (all patches; visible tokens after masking, with and
without CLS; the intra-modal second view) and the FLOPs of one training step (forward + backward
of ``forward(mode='loss')``) counted by ``torch.utils.flop_counter.FlopCounterMode`` on a random
batch. A multiply-add counts as 2 FLOPs. Weights are not loaded (``init_cfg`` is not applied).

Attention is counted as *model* FLOPs on every device: ``2·2·N²·D`` per layer and sequence
forward (``QKᵀ`` and ``AV``), twice that backward. ``FlopCounterMode`` has no formula for the
CPU kernel (``_scaled_dot_product_flash_attention_for_cpu``), and its GPU flash formula adds
the backward's recomputation of ``QKᵀ``; :func:`attention_flop_mapping` replaces both. The
default device ``meta`` builds and runs the model without memory or arithmetic (shapes only), so
even ViT-L counts in seconds.
"""
import argparse
import os.path as osp
import sys
from typing import Dict

import torch
from mmengine.config import Config, DictAction
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mavilkit.registry import MODELS  # noqa: E402


def build_model(cfg: Config, device: str = 'cpu') -> torch.nn.Module:
    """Build ``cfg.model`` (with the config's top-level ``data_preprocessor``, as the Runner).

    ``device='meta'`` builds every parameter and buffer on the meta device (no memory).
    """
    # Only the model package: counting and benchmarking need no media libraries.
    from mmengine.registry import init_default_scope

    import mavilkit.models  # noqa: F401
    init_default_scope('mavilkit')
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    if str(device) == 'meta':
        with torch.device('meta'):
            return MODELS.build(model_cfg)
    return MODELS.build(model_cfg).to(device)


def _sdpa_forward_flops(query_shape, key_shape, value_shape, *args, **kwargs) -> int:
    """``QKᵀ`` and ``AV``: ``2·2·B·H·Nq·Nk·d`` for ``(B, H, N, d)`` inputs."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


def _sdpa_backward_flops(grad_out_shape, query_shape, key_shape, value_shape, *args,
                         **kwargs) -> int:
    """Twice the forward: the gradients of both matmuls w.r.t. both operands (no recompute)."""
    return 2 * sdpa_flop_count(query_shape, key_shape, value_shape)


def attention_flop_mapping() -> dict:
    """``FlopCounterMode(custom_mapping=...)`` formulas for the fused attention kernels.

    Every ``aten._scaled_dot_product_*`` forward counts ``2·2·N²·D`` per sequence (as the
    explicit ``softmax(QKᵀ/√d)V`` that the meta device runs), every backward twice that. Covers
    the CPU kernel (which ``torch.utils.flop_counter`` does not know) and the CUDA flash,
    memory-efficient and cuDNN kernels (whose backward torch counts with recomputation).
    """
    aten = torch.ops.aten
    mapping = {}
    for name in ('_scaled_dot_product_flash_attention_for_cpu',
                 '_scaled_dot_product_flash_attention',
                 '_scaled_dot_product_efficient_attention',
                 '_scaled_dot_product_cudnn_attention'):
        for op, formula in ((name, _sdpa_forward_flops),
                            (f'{name}_backward', _sdpa_backward_flops)):
            if hasattr(aten, op):
                mapping[getattr(aten, op)] = formula
    return mapping


def flop_counter() -> FlopCounterMode:
    """A silent ``FlopCounterMode`` with attention counted (:func:`attention_flop_mapping`)."""
    return FlopCounterMode(display=False, custom_mapping=attention_flop_mapping())


def input_shapes(model) -> Dict[str, tuple]:
    """Per-sample input shapes from the backbones' patch grids: ``(1, T, F)``, ``(C, T, H, W)``."""
    shapes = {}
    for modality in ('audio', 'video'):
        backbone = getattr(model, f'{modality}_backbone', None)
        if backbone is None:  # a uni-modal classifier
            continue
        size = tuple(g * p for g, p in zip(backbone.grid_size, backbone.patch_size))
        shapes[modality] = (backbone.in_channels, ) + size
    return shapes


def synthetic_inputs(model, batch_size: int, device='cpu', seed: int = 0) -> Dict:
    """A random batch as the data preprocessor would hand it to the model (float32)."""
    gen = torch.Generator().manual_seed(seed)
    return {
        m: torch.randn((batch_size, ) + shape, generator=gen).to(device)
        for m, shape in input_shapes(model).items()
    }


def count_parameters(model) -> Dict[str, int]:
    """Parameters of each top-level child module (only those with parameters)."""
    counts = {}
    for name, child in model.named_children():
        n = sum(p.numel() for p in child.parameters())
        if n:
            counts[name] = n
    return counts


def is_pretraining(model) -> bool:
    """A pre-training model masks its inputs (has ``mask_ratio``); a classifier/retriever not."""
    return hasattr(model, 'mask_ratio')


def token_counts(model) -> Dict[str, Dict[str, int]]:
    """All / visible tokens per modality, computed by the model's own masking function.

    A downstream model (not :func:`is_pretraining`) is counted unmasked, as in evaluation:
    every patch is visible and there is no second view.
    """
    from mavilkit.models.utils.masking import random_masking
    tokens = {}
    for modality in ('audio', 'video'):
        backbone = getattr(model, f'{modality}_backbone', None)
        if backbone is None:
            continue
        n = backbone.num_patches
        if not is_pretraining(model):
            tokens[modality] = dict(total=n, visible=n, encoder_input=n + 1, second_view=0)
            continue
        visible = random_masking(1, n, model.mask_ratio).ids_keep.shape[1]
        tokens[modality] = dict(
            total=n,
            visible=visible,
            encoder_input=visible + 1,  # + CLS
            second_view=visible if getattr(model, 'intra_loss', None) is not None else 0)
    return tokens


def train_step_flops(model, batch_size: int, device='cpu') -> Dict[str, int]:
    """FLOPs of ``forward(mode='loss')`` and of forward + backward (one training step).

    Attention included (:func:`attention_flop_mapping`). ``target`` is the part of ``forward``
    spent in ``model.target_generator`` (a stage-2 teacher's forward; 0 for raw targets).

    Totals only: ``FlopCounterMode`` attributes FLOPs to modules through ``forward`` hooks, and
    the backbones are called through ``embed`` / ``encode``, so a per-module split would be
    misleading.

    Returns:
        dict: ``forward``, ``train_step`` (forward + backward) and ``target`` FLOPs (int) of one
        batch of ``batch_size``.
    """
    model.train()
    inputs = synthetic_inputs(model, batch_size, device)
    target = 0
    generator = getattr(model, 'target_generator', None)
    if generator is not None:
        counter = flop_counter()
        with counter:
            generator(inputs)
        target = counter.get_total_flops()
    counter = flop_counter()
    with counter:
        losses = model(inputs, None, mode='loss')
    forward = counter.get_total_flops()
    loss = sum(v for k, v in losses.items() if 'loss' in k)
    counter = flop_counter()
    with counter:
        loss.backward()
    model.zero_grad(set_to_none=True)
    return dict(forward=forward, train_step=forward + counter.get_total_flops(), target=target)


def eval_forward_flops(model, batch_size: int, device='cpu') -> Dict[str, int]:
    """FLOPs of one evaluation forward (``eval()``, ``mode='tensor'``: no masking, no loss).

    For classifiers and retrievers; attention included (:func:`attention_flop_mapping`).

    Returns:
        dict: ``forward`` FLOPs (int) of one batch of ``batch_size``.
    """
    model.eval()
    inputs = synthetic_inputs(model, batch_size, device)
    counter = flop_counter()
    with torch.no_grad(), counter:
        model(inputs, None, mode='tensor')
    return dict(forward=counter.get_total_flops())


def _fmt(n: float) -> str:
    for unit, scale in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(n) >= scale:
            return f'{n / scale:.2f}{unit}'
    return str(int(n))


def main(argv=None):
    parser = argparse.ArgumentParser(description='Parameters, tokens and FLOPs of a config')
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=1, help='synthetic batch size')
    parser.add_argument('--device', default='meta',
                        help='meta (default): count shapes only, no memory; or cpu / cuda')
    parser.add_argument('--no-flops', action='store_true', help='skip the FLOP count')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = build_model(cfg, args.device)

    params = count_parameters(model)
    print(f'Config: {args.config}\n\nParameters')
    for name, n in params.items():
        print(f'  {name:<20} {n:>14,d}  ({_fmt(n)})')
    encoders = sum(params.get(k, 0) for k in ('audio_backbone', 'video_backbone', 'neck', 'fusion'))
    decoders = sum(params.get(k, 0) for k in ('audio_decoder', 'video_decoder'))
    print(f'  {"encoders (f_a+f_v+g_av)":<24} {_fmt(encoders)}')
    print(f'  {"decoders":<24} {_fmt(decoders)}')
    print(f'  {"total":<24} {_fmt(sum(params.values()))}')

    pretraining = is_pretraining(model)
    if pretraining:
        print(f'\nTokens (mask ratio {model.mask_ratio})')
    else:
        print(f'\nTokens ({type(model).__name__}: evaluation forward, no masking)')
    for modality, t in token_counts(model).items():
        print(f'  {modality:<6} total {t["total"]}, visible {t["visible"]} '
              f'(encoder input {t["encoder_input"]} with CLS), second view {t["second_view"]}')

    if not args.no_flops and not pretraining:
        flops = eval_forward_flops(model, args.batch_size, args.device)
        print(f'\nFLOPs (batch {args.batch_size}, a multiply-add = 2 FLOPs)')
        print(f'  evaluation forward (no masking)  {_fmt(flops["forward"])}')
    elif not args.no_flops:
        flops = train_step_flops(model, args.batch_size, args.device)
        print(f'\nFLOPs (batch {args.batch_size}, a multiply-add = 2 FLOPs)')
        print(f'  forward                  {_fmt(flops["forward"])}')
        print(f'  training step (fwd+bwd)  {_fmt(flops["train_step"])}')
        if flops['target']:
            print(f'  of the forward: targets  {_fmt(flops["target"])} (teacher, no backward)')
    return dict(params=params, tokens=token_counts(model),
                flops=None if args.no_flops else flops)


if __name__ == '__main__':
    main()
