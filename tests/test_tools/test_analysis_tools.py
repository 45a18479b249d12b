"""tools/analysis: get_model_info and benchmark_train_step on the demo config."""
import json
import os.path as osp

import pytest
from mmengine.config import Config

from tool_helpers import load_tool

benchmark_train_step = load_tool('tools/analysis/benchmark_train_step.py')
get_model_info = load_tool('tools/analysis/get_model_info.py')

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO = osp.join(REPO, 'configs', 'demo', 'mavil-s1_demo.py')
DEMO_S2 = osp.join(REPO, 'configs', 'demo', 'mavil-s2_demo.py')


def test_get_model_info_demo(capsys):
    info = get_model_info.main([DEMO])
    cfg = Config.fromfile(DEMO)
    m = cfg.model
    for modality, backbone in (('audio', m.audio_backbone), ('video', m.video_backbone)):
        sizes = backbone.input_size
        patch = backbone.patch_size
        patch = (patch, ) * len(sizes) if isinstance(patch, int) else patch
        total = 1
        for s, p in zip(sizes, patch):
            total *= s // p
        visible = round(total * (1 - m.mask_ratio))
        assert info['tokens'][modality] == dict(
            total=total, visible=visible, encoder_input=visible + 1, second_view=visible)
    assert set(info['params']) >= {'audio_backbone', 'video_backbone', 'neck', 'audio_decoder',
                                   'video_decoder'}
    flops = info['flops']
    # backward costs about twice the forward (grads w.r.t. inputs and weights)
    assert 2.5 * flops['forward'] < flops['train_step'] < 3.5 * flops['forward']
    out = capsys.readouterr().out
    assert 'training step (fwd+bwd)' in out and 'encoder input' in out


@pytest.mark.slow
def test_benchmark_demo(tmp_path):
    out = str(tmp_path / 'bench.json')
    rows = benchmark_train_step.main([DEMO, DEMO_S2, '--random-teacher', '--batch-size', '2',
                                      '--iters', '1', '--warmup', '1', '--device', 'cpu',
                                      '--json', out])
    with open(out) as f:
        assert json.load(f) == rows
    s1, s2 = rows
    for row in rows:
        assert row['samples_per_s'] > 0 and row['peak_mem_mib'] > 0 and row['saved_mib'] > 0
        # achieved TFLOP/s = FLOPs of the step (counted independently below) / step time
        cfg = Config.fromfile(DEMO if row is s1 else DEMO_S2)
        flops = get_model_info.train_step_flops(get_model_info.build_model(
            benchmark_train_step.write_random_teacher(cfg, str(tmp_path)), 'meta'), 2, 'meta')
        assert row['tflops'] == pytest.approx(flops['train_step'] / row['s_per_iter'] / 1e12)
        # on a CPU the MFU is against the matmul peak measured in the same run
        assert row['peak_source'] == 'measured matmul peak'
        assert row['mfu'] == pytest.approx(row['tflops'] / row['measured_matmul_tflops'])
        assert row['sdpa'] == '_scaled_dot_product_flash_attention_for_cpu' or \
            row['sdpa'].startswith('math')
    assert s1['teacher_s'] == 0 and s1['teacher_flop_share'] == 0
    assert 0 < s2['teacher_time_share'] < 1 and 0 < s2['teacher_flop_share'] < 1
    with pytest.raises(ValueError, match='CUDA'):
        benchmark_train_step.main([DEMO, '--amp', '--device', 'cpu', '--iters', '1'])


def test_known_peaks():
    peak = benchmark_train_step.known_peak
    assert peak('NVIDIA H200', 'bf16') == 989.4 and peak('NVIDIA H100 80GB HBM3', 'tf32') == 494.7
    assert peak('NVIDIA H100 PCIe', 'bf16') == 756.0
    assert peak('NVIDIA A100-SXM4-80GB', 'tf32') == 156.0
    assert peak('NVIDIA GeForce RTX 4090', 'bf16') is None


def _block_flops(n, dims, mlp_ratio=4):
    """One pre-norm Transformer block over ``n`` tokens, forward (multiply-add = 2 FLOPs)."""
    return 2 * n * (3 * dims * dims + dims * dims + 2 * mlp_ratio * dims * dims) + \
        2 * 2 * n * n * dims


@pytest.mark.parametrize('name', ['retrieval_demo.py', 'finetune-av_demo.py'])
def test_get_model_info_downstream(name, capsys):
    """Classifier / retriever configs: no masking; the evaluation forward counted by hand."""
    info = get_model_info.main([osp.join(REPO, 'configs', 'demo', name)])
    # demo encoders: 'tiny' ViT (64 dims, 2 layers); patches 16×16 (audio), 2×16×16 (video)
    dims, layers = 64, 2
    n_audio, n_video = (1024 // 16) * (128 // 16), (8 // 2) * (96 // 16) ** 2
    assert info['tokens']['audio'] == dict(total=n_audio, visible=n_audio,
                                           encoder_input=n_audio + 1, second_view=0)
    assert info['tokens']['video']['encoder_input'] == n_video + 1
    expected = (2 * n_audio * 16 * 16 * dims + layers * _block_flops(n_audio + 1, dims) +
                2 * n_video * (2 * 16 * 16 * 3) * dims + layers * _block_flops(n_video + 1, dims))
    if name.startswith('finetune'):
        # 3 fusion layers over the joint sequence; linear head on audio ‖ video (2D → 4 classes)
        expected += 3 * _block_flops(n_audio + 1 + n_video + 1, dims) + 2 * 2 * dims * 4
        assert 'fusion' in info['params'] and 'head' in info['params']
    assert info['flops'] == dict(forward=expected)
    out = capsys.readouterr().out
    assert 'no masking' in out and 'evaluation forward' in out
