"""Resume continues exactly with the shipped dataloader settings: ``persistent_workers=True``,
workers drawing a random augmentation, the model drawing random noise; the run resumed after
epoch 1 ends with the weights of the uninterrupted run (difference 0.0)."""
import os.path as osp

import pytest
import torch

from test_foundation import REPO, load_ckpt, run_tool

CONFIG = """_base_ = [{runtime!r}]
custom_imports = dict(imports=['toy_components'], allow_failed_imports=False)
model = dict(type='ToyRegressor')
train_dataloader = dict(
    batch_size=4,
    num_workers={num_workers},
    persistent_workers={persistent},
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyAugmentedDataset', num_samples=24))
train_cfg = dict(by_epoch=True, max_epochs=3)
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.0))
default_hooks = dict(logger=dict(type='LoggerHook', interval=2))
"""


def write_config(tmp_path, name, crash_after=None, num_workers=2, persistent=True):
    runtime = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')
    text = CONFIG.format(runtime=runtime, num_workers=num_workers, persistent=persistent)
    if crash_after is not None:
        text += f"custom_hooks = [dict(type='CrashAfterEpochHook', epoch={crash_after})]\n"
    path = tmp_path / f'{name}.py'
    path.write_text(text)
    return str(path)


@pytest.mark.slow
@pytest.mark.parametrize('num_workers,persistent', [(2, True), (1, False)])
def test_resume_with_workers_equals_uninterrupted_run(tmp_path, num_workers, persistent):
    full_dir, split_dir = tmp_path / 'full', tmp_path / 'split'
    kwargs = dict(num_workers=num_workers, persistent=persistent)
    run_tool(['tools/train.py', write_config(tmp_path, 'full', **kwargs),
              '--work-dir', str(full_dir)])
    crashed = run_tool(['tools/train.py', write_config(tmp_path, 'crash', crash_after=1, **kwargs),
                        '--work-dir', str(split_dir)], expect_ok=False)
    assert crashed.returncode != 0 and 'simulated crash' in crashed.stderr
    run_tool(['tools/train.py', write_config(tmp_path, 'full', **kwargs),
              '--work-dir', str(split_dir), '--resume'])
    full, split = load_ckpt(full_dir / 'epoch_3.pth'), load_ckpt(split_dir / 'epoch_3.pth')
    assert split['meta']['iter'] == full['meta']['iter'] == 18
    for key, value in full['state_dict'].items():
        assert torch.equal(split['state_dict'][key], value), \
            (key, (split['state_dict'][key] - value).abs().max())
    # the epochs after the resume point did change the weights
    mid = load_ckpt(split_dir / 'epoch_1.pth')
    assert not torch.equal(mid['state_dict']['linear.weight'], full['state_dict']['linear.weight'])
