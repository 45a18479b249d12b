"""Foundation: install, registries, tools/train.py end to end, exact resume, torchrun on CPU."""
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TESTS = osp.join(REPO, 'tests')

TOY_CONFIG = """_base_ = [{runtime!r}]
custom_imports = dict(imports=['toy_components'], allow_failed_imports=False)
model = dict(type='ToyRegressor')
train_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='ToyRegressionDataset', num_samples=32))
train_cfg = dict(by_epoch=True, max_epochs={max_epochs})
optim_wrapper = dict(optimizer=dict(type='AdamW', lr=0.05, weight_decay=0.0))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=4, by_epoch=True, eta_min=0.0)]
default_hooks = dict(logger=dict(type='LoggerHook', interval=2))
"""


def write_toy_config(tmp_path, max_epochs, crash_after=None):
    path = tmp_path / f'toy_{max_epochs}e_{crash_after}.py'
    runtime = osp.join(REPO, 'configs', '_base_', 'default_runtime.py')
    text = TOY_CONFIG.format(runtime=runtime, max_epochs=max_epochs)
    if crash_after is not None:
        text += f"custom_hooks = [dict(type='CrashAfterEpochHook', epoch={crash_after})]\n"
    path.write_text(text)
    return str(path)


def run_tool(args, cwd=REPO, timeout=300, expect_ok=True):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, REPO]), OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if expect_ok:
        assert proc.returncode == 0, \
            f'{args} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}'
    return proc


def load_ckpt(path):
    return torch.load(path, map_location='cpu', weights_only=False)


def test_import_and_registries():
    import mavilkit
    from mavilkit import registry
    from mavilkit.utils import register_all_modules
    register_all_modules()
    assert mavilkit.__version__
    for name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'DATA_SAMPLERS', 'METRICS', 'HOOKS',
                 'OPTIM_WRAPPER_CONSTRUCTORS', 'VISUALIZERS', 'VISBACKENDS', 'FUNCTIONS'):
        reg = getattr(registry, name)
        assert reg.scope == 'mavilkit'
        assert reg.parent is not None and reg.parent.scope == 'mmengine'
    # mmengine's components are reachable through the children ...
    assert registry.OPTIM_WRAPPERS.get('AmpOptimWrapper').__name__ == 'AmpOptimWrapper'
    assert registry.HOOKS.get('CheckpointHook').__name__ == 'CheckpointHook'
    assert registry.VISBACKENDS.get('TensorboardVisBackend') is not None
    # ... and mavilkit's own ones by name.
    assert registry.HOOKS.get('RNGStateHook').__name__ == 'RNGStateHook'
    assert registry.FUNCTIONS.get('av_worker_init_fn') is not None


def test_fresh_interpreter_import():
    """`import mavilkit` works in a clean process (no test path tricks)."""
    proc = subprocess.run([sys.executable, '-c', 'import mavilkit, mavilkit.registry; '
                           'print(mavilkit.__version__)'], cwd='/', capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip()


@pytest.mark.slow
def test_train_writes_checkpoint_and_tensorboard(tmp_path):
    cfg = write_toy_config(tmp_path, max_epochs=2)
    work_dir = tmp_path / 'work'
    run_tool(['tools/train.py', cfg, '--work-dir', str(work_dir)])
    assert (work_dir / 'epoch_2.pth').is_file()
    assert (work_dir / 'last_checkpoint').is_file()
    events = glob.glob(str(work_dir / '*' / 'vis_data' / 'events.out.tfevents.*'))
    assert events, 'no TensorBoard event file written'
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    acc = EventAccumulator(events[0])
    acc.Reload()
    assert 'loss' in acc.Tags()['scalars']
    ckpt = load_ckpt(work_dir / 'epoch_2.pth')
    assert ckpt['meta']['iter'] == 16 and ckpt['meta']['epoch'] == 2
    assert 'rng_states' in ckpt and len(ckpt['rng_states']) == 1


@pytest.mark.slow
def test_resume_equals_uninterrupted_run(tmp_path):
    full_dir, split_dir = tmp_path / 'full', tmp_path / 'split'
    run_tool(['tools/train.py', write_toy_config(tmp_path, 4), '--work-dir', str(full_dir)])
    crashed = run_tool(['tools/train.py', write_toy_config(tmp_path, 4, crash_after=2),
                        '--work-dir', str(split_dir)], expect_ok=False)
    assert crashed.returncode != 0 and 'simulated crash' in crashed.stderr
    assert not (split_dir / 'epoch_3.pth').exists()
    # Resume from the latest checkpoint (mmengine finds it through `last_checkpoint`).
    run_tool(['tools/train.py', write_toy_config(tmp_path, 4), '--work-dir', str(split_dir),
              '--resume'])
    full = load_ckpt(full_dir / 'epoch_4.pth')
    split = load_ckpt(split_dir / 'epoch_4.pth')
    assert split['meta']['iter'] == full['meta']['iter'] == 32
    assert split['meta']['epoch'] == full['meta']['epoch'] == 4
    for key, value in full['state_dict'].items():
        torch.testing.assert_close(split['state_dict'][key], value, rtol=1e-5, atol=1e-6)
    # Without the restored RNG state the noisy inputs would differ and so would the weights:
    # the run from epoch 2 must have changed the weights it resumed from.
    mid = load_ckpt(split_dir / 'epoch_2.pth')
    assert not torch.allclose(mid['state_dict']['linear.weight'],
                              full['state_dict']['linear.weight'])


@pytest.mark.slow
def test_resume_from_explicit_checkpoint_path(tmp_path):
    work = tmp_path / 'w'
    run_tool(['tools/train.py', write_toy_config(tmp_path, 2), '--work-dir', str(work)])
    other = tmp_path / 'w2'
    run_tool(['tools/train.py', write_toy_config(tmp_path, 3), '--work-dir', str(other),
              '--resume', str(work / 'epoch_2.pth')])
    assert load_ckpt(other / 'epoch_3.pth')['meta']['iter'] == 24


@pytest.mark.slow
@pytest.mark.skipif(not torch.distributed.is_available(), reason='no torch.distributed')
def test_dist_train_script_two_processes_gloo_cpu(tmp_path):
    """tools/dist_train.sh (torchrun) with 2 CPU processes: gloo group, DDP without device ids."""
    cfg = write_toy_config(tmp_path, 1)
    work = tmp_path / 'dist'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, REPO]), OMP_NUM_THREADS='1',
               PYTHON=sys.executable, PORT='29533')
    proc = subprocess.run(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir', str(work)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    ckpt = load_ckpt(work / 'epoch_1.pth')
    # 32 samples, 2 ranks x batch 4 -> 4 iterations per epoch.
    assert ckpt['meta']['iter'] == 4
    assert len(ckpt['rng_states']) == 2
    # diff_rank_seed: the ranks draw different random numbers (masks, noise) ...
    assert not torch.equal(ckpt['rng_states'][0]['torch'], ckpt['rng_states'][1]['torch'])
    assert 'Traceback' not in proc.stderr


class _RandomDraws(torch.utils.data.Dataset):
    """Each item is a NumPy random draw, like a random crop's offset."""

    def __len__(self):
        return 4

    def __getitem__(self, index):
        import numpy as np
        return float(np.random.rand())


def _two_epochs(worker_init_fn):
    loader = torch.utils.data.DataLoader(_RandomDraws(), batch_size=4, num_workers=2,
                                         worker_init_fn=worker_init_fn)
    torch.manual_seed(0)
    return [next(iter(loader)).tolist() for _ in range(2)]


def test_worker_augmentation_streams_change_every_epoch():
    from functools import partial

    from mmengine.dataset import worker_init_fn as mmengine_worker_init_fn

    from mavilkit.engine import av_worker_init_fn

    # mmengine's default re-seeds every worker identically at every epoch ...
    first, second = _two_epochs(partial(mmengine_worker_init_fn, num_workers=2, rank=0, seed=0))
    assert first == second
    # ... ours derives the seed from torch's per-iterator base seed: new draws every epoch,
    first, second = _two_epochs(partial(av_worker_init_fn, seed=0))
    assert first != second
    # reproducible from the main process's RNG state (which RNGStateHook restores on resume).
    assert _two_epochs(partial(av_worker_init_fn, seed=0)) == [first, second]


def test_train_tool_sets_worker_init_fn(tmp_path):
    from mmengine.config import Config

    from mavilkit.apis import build_runner
    cfg = Config.fromfile(write_toy_config(tmp_path, 1))
    cfg.train_dataloader.num_workers = 2
    cfg.work_dir = str(tmp_path / 'w')
    cfg.launcher = 'none'
    runner = build_runner(cfg)
    assert cfg.train_dataloader.worker_init_fn == dict(type='mavilkit.av_worker_init_fn', seed=0,
                                                       num_threads=1)
    # The Runner resolves the name through mmengine's root FUNCTIONS registry and runs it.
    loader = runner.build_dataloader(cfg.train_dataloader)
    assert loader.worker_init_fn.func.__name__ == 'av_worker_init_fn'
    assert len(list(loader)) == 8
