"""tools/analysis/visualize_reconstruction.py: Fig. 3 from a checkpoint and a media file."""
import os.path as osp

import matplotlib
import numpy as np
import pytest
import torch

from data_helpers import demo_dataset_cfg, make_demo_data
from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules
from tool_helpers import load_tool

matplotlib.use('Agg')
register_all_modules()
tool = load_tool('tools/analysis/visualize_reconstruction.py')

PIPELINE = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioFbank', target_length=192, num_mel_bins=64, mean=-4.4, std=4.2),
    dict(type='SampleVideoFrames', clip_len=4, frame_rate=2, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=32),
    dict(type='PackAVInputs'),
]
MAVIL = dict(type='MAViL',
             audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(192, 64)),
             video_backbone=dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32)),
             audio_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2),
             video_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2))


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('recon')
    root = make_demo_data(tmp / 'demo', num_clips=4, duration=3., size=32)
    cfg = tmp / 'cfg.py'
    dataset = demo_dataset_cfg(root, PIPELINE, split='eval', test_mode=True)
    cfg.write_text(f'model = {MAVIL!r}\ntest_dataloader = dict(dataset={dataset!r})\n')
    torch.manual_seed(0)
    ckpt = tmp / 'm.pth'
    torch.save(dict(state_dict=MODELS.build(MAVIL).state_dict()), ckpt)
    import glob
    return dict(tmp=tmp, cfg=str(cfg), ckpt=str(ckpt),
                media=sorted(glob.glob(osp.join(root, 'balanced_train', '*.mp4')))[:2])


def test_writes_one_figure_per_clip(files):
    out = files['tmp'] / 'fig.png'
    paths = tool.main([files['cfg'], files['ckpt'], *files['media'], '--out', str(out),
                       '--mask-ratio', '0.75'])
    assert paths == [str(files['tmp'] / 'fig_0.png'), str(files['tmp'] / 'fig_1.png')]
    image = matplotlib.image.imread(paths[0])
    assert image.shape[0] > 300 and image.shape[1] > 300 and image.std() > 0.05


def test_figure_axes_and_masked_fraction(files):
    from mavilkit.apis import init_model, prepare_inputs
    model = init_model(files['cfg'], files['ckpt'])
    data = prepare_inputs(model, files['media'][0])
    torch.manual_seed(0)
    recs = model.reconstruct(data['inputs'], mask_ratio=0.75)
    times = data['data_samples'][0].metainfo['frame_times']
    # SampleVideoFrames in test mode: the middle 2 s (4 frames at 2 fps) of a 3-s clip
    np.testing.assert_allclose(np.asarray(times).reshape(-1), [0.5, 1.0, 1.5, 2.0], atol=0.06)
    fig = tool.draw_clip(recs, 0, times, 0.01, True, (123.675, 116.28, 103.53),
                         (58.395, 57.12, 57.375))
    axes = fig.get_axes()
    spectrograms, frames = axes[:3], axes[3:]
    assert [a.get_ylabel() for a in spectrograms] == ['mel bin'] * 3
    assert spectrograms[2].get_xlabel() == 'time (s)'
    # 192 fbank frames at a 10 ms shift span 1.92 s; 64 mel bins
    extent = spectrograms[0].get_images()[0].get_extent()
    np.testing.assert_allclose(extent, [0, 1.92, -0.5, 63.5])
    assert len(frames) == 3 * 4
    assert [a.get_xlabel() for a in frames[-4:]] == ['0.5 s', '1.0 s', '1.5 s', '2.0 s']
    # the masked row hides 75 % of the 12 x 4 audio patches: 36 of them, as NaN
    masked = spectrograms[1].get_images()[0].get_array()
    assert np.ma.getmaskarray(masked).mean() == pytest.approx(36 / 48)


def test_refuses_a_model_without_input_targets(files, tmp_path):
    cfg = tmp_path / 'cls.py'
    model = dict(type='AVClassifier', modality='audio', audio_backbone=MAVIL['audio_backbone'],
                 head=dict(type='AVClsHead', num_classes=4))
    cfg.write_text(f'model = {model!r}\n')
    ckpt = tmp_path / 'c.pth'
    torch.save(dict(state_dict=MODELS.build(model).state_dict()), ckpt)
    with pytest.raises(ValueError, match='does not reconstruct'):
        tool.main([str(cfg), str(ckpt), files['media'][0], '--out', str(tmp_path / 'x.png')])
