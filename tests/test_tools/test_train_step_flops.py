"""FLOP counts of a MAViL training step against an independent count written out here.

The reference is the paper's architecture counted by hand (a multiply-add = 2 FLOPs):
linear layers ``2·n·d_in·d_out``, attention ``2·2·n²·D`` per layer and sequence (``QKᵀ`` and
``AV``), backward twice the forward except for the patch embedding, whose input needs no
gradient (only its weight gradient, once the forward). LayerNorm, GELU, softmax and the
losses' elementwise work are not counted (nor does ``torch.utils.flop_counter``).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tool_helpers import load_tool

get_model_info = load_tool('tools/analysis/get_model_info.py')
build_model, train_step_flops = get_model_info.build_model, get_model_info.train_step_flops

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
VIT_B_S1 = osp.join(REPO, 'configs', 'mavil',
                    'mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py')
DEMO = osp.join(REPO, 'configs', 'demo', 'mavil-s1_demo.py')

# (embed_dims, num_layers) of the encoders, as the paper gives them (ViT-B: 768 × 12).
ARCH = {'b': (768, 12), 'tiny': (64, 2)}


def _prod(xs):
    out = 1
    for x in xs:
        out *= x
    return out


def block_flops(n, dims, mlp_ratio=4):
    """One pre-norm Transformer block over one sequence of ``n`` tokens, forward."""
    linear = 2 * n * (dims * 3 * dims + dims * dims + 2 * dims * mlp_ratio * dims)
    attention = 2 * 2 * n * n * dims
    return linear + attention


def independent_count(model_cfg, batch_size):
    """(forward, train step) FLOPs of stage 1 with both contrastive terms on."""
    fwd = bwd = 0
    visible = {}
    enc_dims = None
    for modality in ('audio', 'video'):
        bb = model_cfg[f'{modality}_backbone']
        patch = bb['patch_size']
        patch = (patch, ) * len(bb['input_size']) if isinstance(patch, int) else patch
        n = _prod(s // p for s, p in zip(bb['input_size'], patch))
        patch_numel = _prod(patch) * bb.get('in_channels', 1 if modality == 'audio' else 3)
        dims, layers = ARCH[bb['arch']]
        enc_dims = dims
        embed = 2 * n * patch_numel * dims
        fwd += embed
        bwd += embed  # weight gradient only: the input is data
        L = int(round(n * (1 - model_cfg['mask_ratio'])))
        visible[modality] = L
        # both views (first view and the disjoint second view) of 1 + L tokens, every layer
        enc = 2 * layers * block_flops(1 + L, dims)
        dec_cfg = model_cfg[f'{modality}_decoder']
        dd, depth = dec_cfg['embed_dims'], dec_cfg['num_layers']
        dec = (2 * (1 + L) * dims * dd + depth * block_flops(1 + n, dd) +
               2 * n * dd * patch_numel)  # raw targets: one patch of values per token
        fwd += enc + dec
        bwd += 2 * (enc + dec)
    fusion = model_cfg['neck']['num_layers'] * block_flops(
        2 + visible['audio'] + visible['video'], enc_dims)
    # three InfoNCE terms (inter, intra audio, intra video): (B, D) @ (D, B)
    infonce = 3 * 2 * batch_size * batch_size * enc_dims
    fwd = batch_size * (fwd + fusion) + infonce
    bwd = batch_size * (bwd + 2 * fusion) + 2 * infonce
    return fwd, fwd + bwd


def test_vit_b_stage1_flops_count_attention():
    cfg = Config.fromfile(VIT_B_S1)
    fwd, step = independent_count(cfg.model, 1)
    # the independent count: 182.4 / 545.4 GFLOP per clip (attention included)
    assert fwd == pytest.approx(182.4e9, rel=1e-3) and step == pytest.approx(545.4e9, rel=1e-3)
    model = build_model(cfg, 'meta')
    # batch 3: linear in the batch but for InfoNCE's B × B logits
    fwd, step = independent_count(cfg.model, 3)
    flops = train_step_flops(model, 3, 'meta')
    assert flops['forward'] == fwd
    assert flops['train_step'] == step
    assert flops['target'] == 0  # raw targets: no teacher


def test_cpu_attention_kernel_is_counted():
    """On the CPU, SDPA runs a fused kernel that torch's counter does not know by itself."""
    cfg = Config.fromfile(DEMO)
    model = build_model(cfg, 'cpu')
    fwd, step = independent_count(cfg.model, 2)
    flops = train_step_flops(model, 2, 'cpu')
    assert flops['forward'] == fwd and flops['train_step'] == step
    # and without the attention formulas torch would miss exactly the attention FLOPs
    from torch.utils.flop_counter import FlopCounterMode
    synthetic_inputs = get_model_info.synthetic_inputs
    counter = FlopCounterMode(display=False)
    with counter:
        model(synthetic_inputs(model, 2), None, mode='loss')
    m = cfg.model
    dims = ARCH['tiny'][0]
    la, lv = 102, 29  # visible tokens: round(0.2 · 512), round(0.2 · 144)
    attention = 2 * (2 * 2 * dims) * 2 * ((1 + la)**2 + (1 + lv)**2) * ARCH['tiny'][1] \
        + 2 * 2 * 2 * dims * (2 + la + lv)**2 * m.neck.num_layers \
        + 2 * 2 * 2 * 64 * (513**2 + 145**2) * m.audio_decoder.num_layers
    if torch.backends.mkldnn.is_available():  # the fused CPU kernel is what runs here
        assert fwd - counter.get_total_flops() == attention
