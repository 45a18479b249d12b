"""``--auto-scale-lr`` counts gradient accumulation: the optimizer a real mmengine Runner builds
trains at lr_base · processes · clips per process · accumulative_counts / 256 (Appendix B).

The number of processes is simulated through the world size that the scaling reads
(``Runner.world_size``); everything else is the real path: the config file, ``tools/train.py``'s
option handling, ``mavilkit.apis.build_runner`` and one training iteration."""
import os.path as osp

import pytest
from mmengine.runner import Runner

from tool_helpers import REPO, load_tool

CONFIG = """_base_ = [{runtime!r}]
custom_imports = dict(imports=['toy_components'], allow_failed_imports=False)
model = dict(type='ToyRegressor')
train_dataloader = dict(
    batch_size={batch},
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', num_samples=64))
train_cfg = dict(by_epoch=False, max_iters={accumulation})
optim_wrapper = dict(optimizer=dict(type='SGD', lr={lr}), accumulative_counts={accumulation})
param_scheduler = None
auto_scale_lr = dict(base_batch_size=256, enable=False)
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=1000))
"""


def trained_lr(tmp_path, monkeypatch, processes, batch, accumulation, lr, flag=True,
               runner_type=None):
    path = tmp_path / f'toy_{processes}_{batch}_{accumulation}.py'
    text = CONFIG.format(runtime=osp.join(REPO, 'configs', '_base_', 'default_runtime.py'),
                         batch=batch, accumulation=accumulation, lr=lr)
    if runner_type:
        text += f'runner_type = {runner_type!r}\n'
    path.write_text(text)
    tool = load_tool('tools/train.py')
    argv = [str(path), '--work-dir', str(tmp_path / f'work_{processes}_{accumulation}')]
    args = tool.parse_args(argv + (['--auto-scale-lr'] if flag else []))
    from mmengine.config import Config
    cfg = tool.merge_args(Config.fromfile(args.config), args)
    # mmengine's scaling reads the world size from the runner (Runner) or its strategy
    # (FlexibleRunner); simulate `processes` of them.
    monkeypatch.setattr(Runner, 'world_size', property(lambda self: processes))
    monkeypatch.setattr('mmengine._strategy.base.BaseStrategy.world_size',
                        property(lambda self: processes))
    from mavilkit.apis import build_runner
    runner = build_runner(cfg)
    runner.train()
    assert runner.iter == accumulation  # one accumulated step ran
    # the config the run dumped keeps the user's numbers
    dumped = Config.fromfile(osp.join(cfg.work_dir, path.name))
    assert dumped.auto_scale_lr.base_batch_size == 256
    return [g['lr'] for g in runner.optim_wrapper.optimizer.param_groups]


@pytest.mark.parametrize('processes,batch,accumulation,lr', [
    (1, 4, 1, 1e-3),     # no accumulation: mmengine's own scaling, 4 / 256
    (8, 8, 8, 2e-4),     # the example: 512 clips per step, 2e-4 -> 4e-4 (not 5e-5)
    (2, 3, 5, 1e-2),     # accumulation that does not divide 256
])
def test_built_optimizer_lr_counts_accumulation(tmp_path, monkeypatch, processes, batch,
                                                accumulation, lr):
    expected = lr * processes * batch * accumulation / 256  # Appendix B, written out
    lrs = trained_lr(tmp_path, monkeypatch, processes, batch, accumulation, lr)
    assert lrs == [pytest.approx(expected, rel=1e-12)]
    if (processes, batch, accumulation) == (8, 8, 8):
        assert lrs[0] == pytest.approx(4e-4)


def test_flexible_runner_counts_accumulation_too(tmp_path, monkeypatch):
    lrs = trained_lr(tmp_path, monkeypatch, 4, 2, 4, 1e-2, runner_type='FlexibleRunner')
    assert lrs == [pytest.approx(1e-2 * 4 * 2 * 4 / 256, rel=1e-12)]


def test_without_auto_scale_lr_the_lr_is_the_config_s(tmp_path, monkeypatch):
    assert trained_lr(tmp_path, monkeypatch, 8, 8, 8, 2e-4, flag=False) == [2e-4]


def test_accumulative_counts_must_be_a_positive_integer():
    from mavilkit.apis import accumulated_auto_scale_lr
    on = dict(base_batch_size=256, enable=True)
    assert accumulated_auto_scale_lr(on, dict(accumulative_counts=4))['base_batch_size'] == 64
    assert accumulated_auto_scale_lr(on, dict()) is on
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match='accumulative_counts'):
            accumulated_auto_scale_lr(on, dict(accumulative_counts=bad))
