"""The demo pre-training config through the real mmengine Runner on generated demo clips:
the total loss goes down, and checkpoints, TensorBoard scalars and reconstruction images are
written."""
import glob
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from data_helpers import make_demo_data
from mavilkit.utils import register_all_modules

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join(REPO, 'configs', 'demo', 'mavil-s1_demo.py')


def test_demo_pretraining_loss_goes_down(tmp_path):
    cfg = Config.fromfile(DEMO)
    size = cfg.model.video_backbone.input_size[-1]
    root = make_demo_data(tmp_path / 'demo', num_clips=10, duration=6., size=size)
    work_dir = str(tmp_path / 'work')
    cfg.work_dir = work_dir
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.data_root = root
    # 4 iterations per epoch (8 train clips / 2); the demo's epoch-based schedule, shortened.
    cfg.train_cfg.max_epochs = 8
    for scheduler in cfg.param_scheduler:
        scheduler.end = min(scheduler.end, 8)
        if scheduler.type == 'CosineAnnealingLR':
            scheduler.T_max = scheduler.end - scheduler.begin
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 4
    cfg.custom_hooks = [dict(type='ReconstructionVisualizationHook', interval=16, max_samples=1)]
    cfg.randomness = dict(seed=0, deterministic=False)
    cfg.launcher = 'none'
    assert 'name' not in cfg.visualizer  # else a second Runner here would reuse the first's

    register_all_modules()
    runner = Runner.from_cfg(cfg)
    runner.train()

    losses = np.asarray(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == 32 and np.all(np.isfinite(losses))
    assert losses[-8:].mean() < 0.8 * losses[:4].mean(), losses
    for key in ('loss_rec_audio', 'loss_rec_video', 'loss_inter', 'loss_intra', 'acc_inter'):
        assert runner.message_hub.get_scalar(f'train/{key}') is not None

    assert osp.isfile(osp.join(work_dir, 'epoch_8.pth'))
    assert glob.glob(osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    pngs = sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, 'reconstructions', '*')))
    assert pngs == ['iter_16_audio_0.png', 'iter_16_video_0.png',
                    'iter_32_audio_0.png', 'iter_32_video_0.png']
