"""Whole-model loads (``load_from``, ``tools/test.py``) fill every part or refuse, naming it.

Through the real entry points: ``tools/test.py`` given a pre-training checkpoint for the A+V
classifier, ``tools/train.py`` given a wrong-shape ``load_from`` for MAViL, and mmengine's Runner
loading correct checkpoints (the weights then equal the file's, tensor by tensor).
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from data_helpers import make_demo_data
from mavilkit.models.utils.checkpoint import CheckpointMismatchError
from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules
from tool_helpers import load_tool

register_all_modules()
train_main = load_tool('tools/train.py').main
run_test_tool = load_tool('tools/test.py').main

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
S1 = osp.join(REPO, 'configs', 'demo', 'mavil-s1_demo.py')
AV = osp.join(REPO, 'configs', 'demo', 'finetune-av_demo.py')
LOADERS = ('train_dataloader', 'test_dataloader')


def _data_options(root, loaders=LOADERS):
    return [opt for loader in loaders for opt in (
        f'{loader}.dataset.data_root={root}', f'{loader}.num_workers=0',
        f'{loader}.persistent_workers=False', f'{loader}.batch_size=2')]


def _random_state(config, seed):
    """A state dict of ``config``'s model with every tensor drawn anew (not its init values)."""
    torch.manual_seed(seed)
    model = MODELS.build(Config.fromfile(config).model)
    return {k: torch.randn_like(v) if v.is_floating_point() else v
            for k, v in model.state_dict().items()}


def _save(path, state):
    torch.save(dict(state_dict=state, meta=dict()), str(path))
    return str(path)


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return make_demo_data(tmp_path_factory.mktemp('demo'), num_clips=4, duration=2., size=32)


def test_pretraining_checkpoint_for_the_av_classifier_is_refused_naming_fusion_and_head(
        tmp_path, demo_root):
    ckpt = _save(tmp_path / 'pre.pth', _random_state(S1, seed=0))
    with pytest.raises(CheckpointMismatchError) as err:
        run_test_tool([AV, ckpt, '--work-dir', str(tmp_path / 'test'), '--cfg-options',
                       *_data_options(demo_root)])
    message = str(err.value)
    # MAViL has the encoders (and a 2-layer neck, decoders); the classifier's 3-layer `fusion`,
    # `fc_norm` and `head` are nowhere in it
    assert f'{ckpt} has no weights for `fusion`, `fc_norm`, `head`' in message, message


def test_wrong_shape_load_from_for_mavil_is_refused_naming_keys_and_shapes(tmp_path, demo_root):
    state = _random_state(S1, seed=1)
    # the demo audio encoder: (1024 / 16) · (128 / 16) = 512 patches + CLS, width 64 (ViT-tiny
    # of the demo); qkv stacks 3 · 64 rows
    assert state['audio_backbone.pos_embed'].shape == (1, 513, 64)
    state['audio_backbone.pos_embed'] = torch.zeros(1, 257, 64)
    state['audio_backbone.blocks.0.attn.qkv.weight'] = torch.zeros(96, 32)
    ckpt = _save(tmp_path / 'wrong.pth', state)
    with pytest.raises(CheckpointMismatchError) as err:
        train_main([S1, '--work-dir', str(tmp_path / 'train'), '--cfg-options', f'load_from={ckpt}',
                    'train_cfg.max_epochs=1', *_data_options(demo_root, LOADERS[:1])])
    message = str(err.value)
    assert f'shape mismatch loading {ckpt}' in message, message
    assert ('audio_backbone.pos_embed: (1, 257, 64) in the checkpoint vs (1, 513, 64) in the '
            'model') in message
    assert ('audio_backbone.blocks.0.attn.qkv.weight: (96, 32) in the checkpoint vs (192, 64) in '
            'the model') in message

    # a part missing (a MAViL checkpoint without its video decoder) is refused too
    partial = _random_state(S1, seed=1)
    partial = {k: v for k, v in partial.items() if not k.startswith('video_decoder.')}
    ckpt = _save(tmp_path / 'partial.pth', partial)
    with pytest.raises(CheckpointMismatchError, match=r'partial\.pth has no weights for '
                       r'`video_decoder`'):
        train_main([S1, '--work-dir', str(tmp_path / 'train2'), '--cfg-options',
                    f'load_from={ckpt}', 'train_cfg.max_epochs=1',
                    *_data_options(demo_root, LOADERS[:1])])


@pytest.mark.parametrize('config', [S1, AV], ids=['mavil', 'av_classifier'])
def test_correct_checkpoint_loads_every_tensor_of_the_file(tmp_path, demo_root, config):
    state = _random_state(config, seed=2)
    ckpt = _save(tmp_path / 'good.pth', state)
    cfg = Config.fromfile(config)
    cfg.merge_from_dict({'load_from': ckpt, 'work_dir': str(tmp_path / 'run'),
                         **{f'{loader}.dataset.data_root': demo_root for loader in LOADERS
                            if loader in cfg}})
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    loaded = runner.model.state_dict()
    assert set(loaded) == set(state)
    for key, value in state.items():
        assert torch.equal(loaded[key], value), key
