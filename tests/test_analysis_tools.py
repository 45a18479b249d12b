"""tools/analysis: get_model_info and benchmark_train_step on the demo config."""
import os.path as osp

import pytest
from mmengine.config import Config

from tool_helpers import load_tool

benchmark_train_step = load_tool('tools/analysis/benchmark_train_step.py')
get_model_info = load_tool('tools/analysis/get_model_info.py')

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'demo', 'mavil-s1_demo.py')


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


def test_benchmark_demo():
    result = benchmark_train_step.main([DEMO, '--batch-size', '2', '--iters', '1',
                                        '--warmup', '1', '--device', 'cpu'])
    assert result['samples_per_s'] > 0 and result['peak_mem_mib'] > 0
    with pytest.raises(ValueError, match='CUDA'):
        benchmark_train_step.main([DEMO, '--amp', '--device', 'cpu', '--iters', '1'])
