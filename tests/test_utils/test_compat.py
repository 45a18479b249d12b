"""One test per workaround in mavilkit/utils/compat.py."""
import os
import pickle
from collections import OrderedDict

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mavilkit.utils import compat


@pytest.fixture(autouse=True)
def _loader():
    compat.register_checkpoint_loader()
    saved = list(compat._TRUSTED_ROOTS)
    yield
    compat._TRUSTED_ROOTS[:] = saved


def training_checkpoint():
    """What mmengine's CheckpointHook saves: tensors plus mmengine objects."""
    return dict(meta=dict(epoch=1), state_dict=OrderedDict(w=torch.ones(2)),
                message_hub=dict(log_scalars=dict(loss=HistoryBuffer([1.0, 2.0], [1, 1]))))


def test_plain_torch_load_fails_on_training_checkpoints(tmp_path):
    """The incompatibility itself: torch>=2.6 weights-only loading rejects HistoryBuffer."""
    path = tmp_path / 'epoch_1.pth'
    torch.save(training_checkpoint(), path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_own_checkpoint_in_work_dir_loads_in_full(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    torch.save(training_checkpoint(), path)
    (tmp_path / 'last_checkpoint').write_text(str(path))  # what CheckpointHook writes
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert isinstance(ckpt['message_hub']['log_scalars']['loss'], HistoryBuffer)


def test_trusted_root_loads_in_full(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save(training_checkpoint(), path)
    compat.add_trusted_root(str(tmp_path))
    assert compat.is_trusted_checkpoint(str(path))
    assert CheckpointLoader.load_checkpoint(str(path))['meta']['epoch'] == 1


def test_trusted_env_variable(tmp_path, monkeypatch):
    path = tmp_path / 'model.pth'
    torch.save(training_checkpoint(), path)
    monkeypatch.setenv(compat.TRUSTED_ENV, str(tmp_path))
    assert CheckpointLoader.load_checkpoint(str(path))['meta']['epoch'] == 1


def test_foreign_file_stays_weights_only(tmp_path):
    foreign = tmp_path / 'downloaded.pth'
    torch.save(training_checkpoint(), foreign)
    with pytest.raises(RuntimeError, match='downloaded.pth'):
        CheckpointLoader.load_checkpoint(str(foreign))
    # A foreign file of plain tensors (e.g. an ImageNet-MAE release) loads weights-only.
    weights = tmp_path / 'weights.pth'
    torch.save(dict(model=dict(w=torch.zeros(3))), weights)
    assert CheckpointLoader.load_checkpoint(str(weights))['model']['w'].shape == (3,)


def test_missing_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'nope.pth'))


def test_dist_backend_and_cpu_wrapper():
    expected = 'nccl' if torch.cuda.is_available() else 'gloo'
    assert compat.default_dist_backend() == expected
    env = compat.resolve_dist_cfg(dict(dist_cfg=dict(backend='auto', timeout=60)))
    assert env['dist_cfg'] == dict(backend=expected, timeout=60)
    assert compat.resolve_dist_cfg(dict(dist_cfg=dict(backend='gloo')))['dist_cfg']['backend'] \
        == 'gloo'
    wrapper = compat.cpu_ddp_wrapper_cfg()
    assert wrapper['device_ids'] is None and wrapper['broadcast_buffers'] is False
    assert compat.init_distributed('none') is False


def test_slurm_variables_translate(monkeypatch):
    for key in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_PORT'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '8')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('MASTER_ADDR', 'node0')
    compat._slurm_env_to_torch_env(port=29999)
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'], os.environ['LOCAL_RANK'],
            os.environ['MASTER_PORT']) == ('3', '8', '1', '29999')


def test_config_layout_check(tmp_path):
    base = tmp_path / 'base.py'
    base.write_text('a = 1\n')
    good = tmp_path / 'good.py'
    good.write_text(f'"""doc"""\n_base_ = [{str(base)!r}]\nimport os\nb = 2\n')
    compat.check_config_layout(str(good))
    assert Config.fromfile(str(good)).a == 1
    bad = tmp_path / 'bad.py'
    bad.write_text(f'import os\n_base_ = [{str(base)!r}]\nb = 2\n')
    with pytest.raises(ValueError, match='_base_'):
        compat.check_config_layout(str(bad))
    standalone = tmp_path / 'standalone.py'
    standalone.write_text('import math\nx = math.pi\n')
    compat.check_config_layout(str(standalone))
