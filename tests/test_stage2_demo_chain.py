"""The documented two-command chain, stage 1 then stage 2, through ``tools/train.py`` and the
real mmengine Runner on generated demo clips (shortened with ``--cfg-options``)."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from data_helpers import make_demo_data
from tool_helpers import load_tool

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow

train_main = load_tool('tools/train.py').main

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
S1 = osp.join('configs', 'demo', 'mavil-s1_demo.py')
S2 = osp.join('configs', 'demo', 'mavil-s2_demo.py')


def test_stage1_then_stage2_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)  # the demo configs name their teacher relative to the repository
    size = Config.fromfile(S1).model.video_backbone.input_size[-1]
    root = make_demo_data(tmp_path / 'demo', num_clips=6, duration=6., size=size)
    s1_dir, s2_dir = str(tmp_path / 's1'), str(tmp_path / 's2')
    short = [
        f'train_dataloader.dataset.data_root={root}', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_cfg.max_epochs=1', 'default_hooks.checkpoint.interval=1',
        'default_hooks.logger.interval=1', 'param_scheduler=[]'
    ]
    train_main([S1, '--work-dir', s1_dir, '--cfg-options', *short])
    s1_ckpt = osp.join(s1_dir, 'epoch_1.pth')
    assert osp.isfile(s1_ckpt)

    # stage 2 takes the stage-1 work dir (its last_checkpoint), as the demo config does
    train_main([S2, '--work-dir', s2_dir, '--cfg-options', *short,
                f'model.target_generator.teacher_checkpoint={s1_dir}'])
    s2_ckpt = osp.join(s2_dir, 'epoch_1.pth')
    assert osp.isfile(s2_ckpt)

    teacher = torch.load(s1_ckpt, map_location='cpu', weights_only=False)['state_dict']
    student = torch.load(s2_ckpt, map_location='cpu', weights_only=False)
    # the student's checkpoint holds the student only: the same keys as a stage-1 checkpoint
    assert set(student['state_dict']) == set(teacher)
    # ... with a re-initialised, trained student, not a copy of the teacher
    key = 'audio_backbone.blocks.0.attn.qkv.weight'
    assert not torch.equal(student['state_dict'][key], teacher[key])
    # decoders predict teacher features: 64 values per patch (the demo encoders' width)
    assert student['state_dict']['audio_decoder.head.weight'].shape[0] == 64
    assert teacher['audio_decoder.head.weight'].shape[0] == 16 * 16
    # the optimizer holds exactly the student's parameters (its tensors minus the fixed
    # positional-embedding buffers), no teacher parameter
    num_params = sum(len(g['params']) for g in student['optimizer']['param_groups'])
    s2_params = [k for k in student['state_dict'] if not k.endswith('pos_embed')]
    assert num_params == len(s2_params)
