"""``--cfg-options`` keys that would be merged without effect are refused (merge_cfg_options),
through the real argument paths of tools/train.py, tools/test.py and ``init_model``."""
import pytest
from mmengine.config import Config

from mavilkit.apis import init_model, merge_cfg_options
from tool_helpers import REPO, load_tool

S1 = 'configs/demo/mavil-s1_demo.py'
FT = 'configs/demo/finetune-av_demo.py'


class _Built(Exception):
    """Raised by the stand-in for build_runner: the config reached the Runner."""

    def __init__(self, cfg):
        super().__init__('built')
        self.cfg = cfg


def _fake_build_runner(cfg):
    raise _Built(cfg)


def _cfg_from_tool(monkeypatch, tool, argv):
    """The config that ``tool``'s main() would hand to the Runner for ``argv``."""
    module = load_tool(tool)
    monkeypatch.setattr(module, 'build_runner', _fake_build_runner)
    with pytest.raises(_Built) as built:
        module.main(argv)
    return built.value.cfg


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch):
    monkeypatch.chdir(REPO)


@pytest.mark.parametrize('config, option, named, suggested', [
    # variables substituted at parse time: the field built from each is named
    (S1, 'data_root=/nonexistent/', "'data_root' is a config variable",
     'train_dataloader.dataset.data_root=...'),
    (FT, 'pretrained=/nonexistent.pth', "'pretrained' is a config variable",
     'model.init_cfg.checkpoint=...'),
    # not a key of the config nor of the Runner: the nested field of that name is suggested
    (S1, 'max_epochs=1', "'max_epochs' is not a key of the config",
     'did you mean train_cfg.max_epochs?'),
    # a misspelt top-level key: difflib's nearest keys
    (S1, 'trian_cfg.max_epochs=1', "'trian_cfg' is not a key of the config",
     'did you mean train_cfg'),
])
def test_train_refuses_keys_without_effect(monkeypatch, tmp_path, config, option, named,
                                           suggested):
    train = load_tool('tools/train.py')
    monkeypatch.setattr(train, 'build_runner', _fake_build_runner)
    with pytest.raises(ValueError) as err:
        train.main([config, '--work-dir', str(tmp_path), '--cfg-options', option])
    message = str(err.value)
    assert f'--cfg-options {option.split("=")[0]}:' in message
    assert named in message and suggested in message


def test_suggested_fields_hold_the_variables_value():
    # the values written in the config files (configs/_base_/datasets/demo_pretrain.py and
    # configs/demo/finetune-av_demo.py): the suggested fields are the ones the variables built
    assert Config.fromfile(S1).train_dataloader.dataset.data_root == 'data/demo/'
    assert Config.fromfile(FT).model.init_cfg.checkpoint == 'work_dirs/mavil-s1_demo/epoch_30.pth'


def test_variable_without_a_field_of_its_value(monkeypatch, tmp_path):
    # `fold` (an int) built ann_file strings: no field holds 1 as is, so editing is suggested
    config = 'configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_4xb16-coslr-60e_esc50-a.py'
    train = load_tool('tools/train.py')
    monkeypatch.setattr(train, 'build_runner', _fake_build_runner)
    with pytest.raises(ValueError, match=r"'fold' is a config variable.*edit fold in the config"):
        train.main([config, '--work-dir', str(tmp_path), '--cfg-options', 'fold=2'])


def test_train_nested_overrides_still_apply(monkeypatch, tmp_path):
    cfg = _cfg_from_tool(monkeypatch, 'tools/train.py', [
        FT, '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
        'model.init_cfg.checkpoint=/nonexistent.pth', 'train_dataloader.batch_size=1',
        'train_dataloader.dataset.data_root=/tmp/elsewhere/', 'randomness.seed=1',
        'load_from=/some/ckpt.pth', 'param_scheduler=[]',
        'optim_wrapper.paramwise_cfg.layer_decay_rate=1.0'
    ])
    assert cfg.train_cfg.max_epochs == 1
    assert cfg.train_cfg.val_interval == 4  # merged into, not replaced
    assert cfg.model.init_cfg.checkpoint == '/nonexistent.pth'
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.train_dataloader.dataset.data_root == '/tmp/elsewhere/'
    assert cfg.randomness.seed == 1
    assert cfg.load_from == '/some/ckpt.pth'
    assert cfg.param_scheduler == []
    assert cfg.optim_wrapper.paramwise_cfg.layer_decay_rate == 1.0


def test_runner_arguments_absent_from_the_config_are_accepted():
    # experiment_name: Runner.__init__ argument; strategy: FlexibleRunner's; runner_type: read
    # by mmengine's build_runner_from_cfg. None is in the demo config.
    cfg = Config.fromfile(S1)
    assert not {'experiment_name', 'strategy', 'runner_type'} & set(cfg.keys())
    merge_cfg_options(cfg, {'experiment_name': 'x', 'strategy.type': 'DDPStrategy',
                            'runner_type': 'FlexibleRunner'})
    assert (cfg.experiment_name, cfg.strategy.type, cfg.runner_type) == \
        ('x', 'DDPStrategy', 'FlexibleRunner')


def test_test_tool_same_check(monkeypatch, tmp_path):
    test = load_tool('tools/test.py')
    monkeypatch.setattr(test, 'build_runner', _fake_build_runner)
    with pytest.raises(ValueError, match=r"'data_root' is a config variable.*"
                       r'test_dataloader\.dataset\.data_root=\.\.\.'):
        test.main([FT, 'x.pth', '--work-dir', str(tmp_path), '--cfg-options', 'data_root=/x/'])
    cfg = _cfg_from_tool(monkeypatch, 'tools/test.py', [
        FT, 'x.pth', '--work-dir', str(tmp_path), '--cfg-options',
        'test_dataloader.dataset.pipeline.2.num_clips=1'
    ])
    assert cfg.test_dataloader.dataset.pipeline[2].num_clips == 1


def test_init_model_same_check():
    with pytest.raises(ValueError, match="'pretrained' is a config variable"):
        init_model(FT, cfg_options={'pretrained': '/nonexistent.pth'})
    model = init_model(S1, cfg_options={'model.mask_ratio': 0.5})
    assert model.mask_ratio == 0.5
