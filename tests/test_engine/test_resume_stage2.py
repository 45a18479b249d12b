"""Stage 2 (frozen stage-1 teacher) and the one-stage EMA variant resume exactly with the shipped
dataloader settings (a worker, ``persistent_workers=True``, random crops, flips and rolls):
1 epoch + ``--resume`` to 3 epochs ends with the weights of 3 uninterrupted epochs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from data_helpers import make_demo_data
from tool_helpers import load_tool

train_main = load_tool('tools/train.py').main

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S1 = osp.join('configs', 'demo', 'mavil-s1_demo.py')
S2 = osp.join('configs', 'demo', 'mavil-s2_demo.py')
EMA = """_base_ = [{s1!r}]
model = dict(target_generator=dict(_delete_=True, type='EMATarget', momentum=0.1,
                                   norm_target=True, min_target_var=0.0),
             raw_weight=1.0)
custom_hooks = [dict(type='RNGStateHook')]
"""


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.mark.slow
@pytest.mark.parametrize('variant', ['teacher', 'ema'])
def test_stage2_resumes_exactly_with_persistent_workers(tmp_path, monkeypatch, variant):
    monkeypatch.chdir(REPO)
    size = Config.fromfile(S1).model.video_backbone.input_size[-1]
    root = make_demo_data(tmp_path / 'demo', num_clips=4, duration=6., size=size)
    common = [f'train_dataloader.dataset.data_root={root}', 'train_dataloader.batch_size=2',
              'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
              'param_scheduler=[]']
    if variant == 'teacher':
        s1_dir = str(tmp_path / 's1')
        train_main([S1, '--work-dir', s1_dir, '--cfg-options', *common,
                    'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                    'train_cfg.max_epochs=1'])
        config, extra = S2, [f'model.target_generator.teacher_checkpoint={s1_dir}']
    else:
        config = str(tmp_path / 'ema.py')
        with open(config, 'w') as f:
            f.write(EMA.format(s1=osp.join(REPO, S1)))
        extra = []
    shipped = common + extra + ['train_dataloader.num_workers=1',
                                'train_dataloader.persistent_workers=True']
    full, split = str(tmp_path / 'full'), str(tmp_path / 'split')
    train_main([config, '--work-dir', full, '--cfg-options', *shipped, 'train_cfg.max_epochs=3'])
    train_main([config, '--work-dir', split, '--cfg-options', *shipped, 'train_cfg.max_epochs=1'])
    train_main([config, '--work-dir', split, '--resume', '--cfg-options', *shipped,
                'train_cfg.max_epochs=3'])
    want, got = load(osp.join(full, 'epoch_3.pth')), load(osp.join(split, 'epoch_3.pth'))
    assert got['meta']['iter'] == want['meta']['iter'] == 6
    assert set(got['state_dict']) == set(want['state_dict'])
    for key, value in want['state_dict'].items():
        assert torch.equal(got['state_dict'][key], value), \
            (key, (got['state_dict'][key].float() - value.float()).abs().max())
