"""Demo dataset generator and the dataset configs."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from data_helpers import audio_recipe, make_demo_data
from mavilkit.datasets.transforms import LoadAudio, SampleVideoFrames
from mavilkit.registry import MODELS
from mavilkit.testing import CLASSES, render_clip
from mavilkit.utils.setup_env import register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CFG_DIR = osp.join(REPO, 'configs', '_base_', 'datasets')


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    register_all_modules()
    return make_demo_data(tmp_path_factory.mktemp('demo'), num_clips=8, duration=10., size=64)


def test_demo_layout_is_audioset(demo_root):
    lines = open(osp.join(demo_root, 'balanced_train_segments.csv')).read().splitlines()
    assert lines[0].startswith('# ') and lines[2] == \
        '# YTID, start_seconds, end_seconds, positive_labels'
    ytid, start, end, labels = lines[3].split(', ', 3)
    assert labels.startswith('"/m/demo_') and labels.endswith('"')
    assert float(end) - float(start) == 10.
    assert osp.isfile(osp.join(demo_root, 'balanced_train', f'{ytid}_{int(float(start))}_'
                               f'{int(float(end))}.mp4'))
    header = open(osp.join(demo_root, 'class_labels_indices.csv')).readline().strip()
    assert header == 'index,mid,display_name'
    assert len(open(osp.join(demo_root, 'eval_segments.csv')).read().splitlines()) == 3 + 2


def test_demo_clips_are_real_10s_h264_aac(demo_root):
    import av
    path = next(osp.join(demo_root, 'balanced_train', f) for f in
                sorted(__import__('os').listdir(osp.join(demo_root, 'balanced_train'))))
    with av.open(path) as container:
        assert container.streams.video[0].codec_context.name == 'h264'
        assert container.streams.audio[0].codec_context.name == 'aac'
        assert abs(container.duration / 1e6 - 10.) < 0.2
    wave = LoadAudio()(dict(filename=path))['waveform']
    assert abs(wave.size / 16000 - 10.) < 0.2
    imgs = SampleVideoFrames()(dict(filename=path))['imgs']
    assert imgs.shape == (8, 64, 64, 3)


def test_demo_sound_and_picture_correspond():
    # spinning bar: a 1.6 kHz tone; sliding square: pitch between 600 and 1200 Hz that rises
    # when the square moves right
    _, spin = render_clip([3], duration=2., size=32, seed=0)
    spectrum = np.abs(np.fft.rfft(spin))
    assert abs(np.argmax(spectrum) * 16000 / spin.size - 1600) < 5
    frames, slide = render_clip([1], duration=4., fps=10, size=64, seed=0)
    blue = (frames[..., 2] > 200) & (frames[..., 0] < 100)
    x = [np.nonzero(b)[1].mean() for b in blue]
    pitches = []
    for i in range(40):
        seg = slide[i * 1600:(i + 1) * 1600]
        pitches.append(np.argmax(np.abs(np.fft.rfft(seg))) * 16000 / seg.size)
    assert np.corrcoef(x, pitches)[0, 1] > 0.9
    # flashing light: the noise bursts coincide with the lit frames
    frames, flash = render_clip([2], duration=4., fps=20, size=32, seed=1)
    lit = (frames[..., 1] > 200).any(axis=(1, 2))
    loud = np.array([np.abs(flash[i * 800:(i + 1) * 800]).mean() for i in range(80)])
    assert loud[lit].mean() > 5 * loud[~lit].mean()
    assert len(CLASSES) == 4


def test_make_demo_dataset_tool(tmp_path):
    out = subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'data', 'make_demo_dataset.py'),
         str(tmp_path / 'demo'), '--num-clips', '4', '--duration', '1', '--size', '32',
         '--workers', '1'], capture_output=True, text=True, check=True).stdout
    assert 'Wrote 3 train and 1 eval clips' in out
    assert '4/4' in out  # the progress bar reached every clip
    assert len(list((tmp_path / 'demo' / 'balanced_train').glob('*.mp4'))) == 3
    # Two writer processes finish in any order and write the same dataset.
    subprocess.run(
        [sys.executable, osp.join(REPO, 'tools', 'data', 'make_demo_dataset.py'),
         str(tmp_path / 'demo2'), '--num-clips', '4', '--duration', '1', '--size', '32',
         '--workers', '2'], capture_output=True, text=True, check=True)
    for name in ('balanced_train_segments.csv', 'eval_segments.csv',
                 'class_labels_indices.csv'):
        assert (tmp_path / 'demo' / name).read_text() == (tmp_path / 'demo2' / name).read_text()
    assert sorted(p.name for p in (tmp_path / 'demo').rglob('*.mp4')) == \
        sorted(p.name for p in (tmp_path / 'demo2').rglob('*.mp4'))


def test_demo_config_through_runner_dataloader_and_preprocessor(demo_root):
    cfg = Config.fromfile(osp.join(CFG_DIR, 'demo_finetune.py'))
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg.update(num_workers=0, persistent_workers=False, batch_size=3)
    loader_cfg['dataset']['data_root'] = demo_root
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    batch = next(iter(loader))
    pre = MODELS.build(cfg.data_preprocessor)
    out = pre(batch, training=True)
    assert out['inputs']['audio'].shape == (3, 1, 1024, 128)
    assert out['inputs']['video'].shape == (3, 3, 8, 96, 96)
    scores = torch.stack([s.gt_score for s in out['data_samples']])
    # mixed multi-hot rows of clips with one or two labels: each row sums to between 1 and 2
    sums = scores.sum(1)
    assert scores.shape == (3, 4) and ((sums >= 1 - 1e-6) & (sums <= 2 + 1e-6)).all()
    val_cfg = cfg.val_dataloader.to_dict()
    val_cfg.update(num_workers=0, persistent_workers=False)
    val_cfg['dataset']['data_root'] = demo_root
    val = Runner.build_dataloader(val_cfg, seed=0)
    assert len(val.dataset) == 2 and val.dataset.test_mode


def _pipeline(cfg_pipeline, name):
    return [t for t in cfg_pipeline if t['type'] == name]


def test_audioset_configs_pin_the_paper():
    pre = Config.fromfile(osp.join(CFG_DIR, 'audioset_pretrain.py'))
    pipe = pre.train_pipeline
    fbank = _pipeline(pipe, 'AudioFbank')[0]
    assert (fbank.target_length, fbank.num_mel_bins, fbank.mean, fbank.std) == \
        (1024, 128, -4.268, 4.569)
    video = _pipeline(pipe, 'SampleVideoFrames')[0]
    assert (video.clip_len, video.frame_rate) == (8, 2)
    crop = _pipeline(pipe, 'VideoRandomResizedCrop')[0]
    assert crop.size == 224 and tuple(crop.scale) == (0.2, 1.0)
    assert _pipeline(pipe, 'VideoFlip')[0].flip_ratio == 0.5
    assert not _pipeline(pipe, 'SpecAugment') and pre.data_preprocessor.mixup_alpha == 0.
    assert [d.ann_file for d in pre.train_dataloader.dataset.datasets] == \
        ['balanced_train_segments.csv', 'unbalanced_train_segments.csv']
    ft = Config.fromfile(osp.join(CFG_DIR, 'audioset_finetune.py'))
    assert ft.train_dataloader.sampler == dict(type='DistributedWeightedSampler',
                                               num_samples=200000)
    recipe = audio_recipe(ft, ft.train_pipeline)
    assert recipe['specaug'] == (192, 48) and recipe['mixup'] == (0.5, 10.)
    assert recipe['stats'] == (-4.268, 4.569) and recipe['target_length'] == 1024
    assert recipe['device'] and recipe['magnitude_aug'] and recipe['noise_snr_db'] is None
    as20k = Config.fromfile(osp.join(CFG_DIR, 'audioset20k_finetune.py'))
    assert as20k.train_dataloader.sampler.type == 'DefaultSampler'
    assert as20k.train_dataloader.dataset.ann_file == 'balanced_train_segments.csv'
    # Table 11: validation on one clip, testing on 10 clips per video (A+V and video only).
    for name in ('audioset_finetune.py', 'audioset20k_finetune.py', 'audioset_finetune_video.py',
                 'audioset20k_finetune_video.py'):
        cfg = Config.fromfile(osp.join(CFG_DIR, name))
        for loader, clips in ((cfg.val_dataloader, 1), (cfg.test_dataloader, 10)):
            assert _pipeline(loader.dataset.pipeline, 'SampleVideoFrames')[0].num_clips == clips
    for name in ('audioset_finetune_audio.py', 'audioset20k_finetune_audio.py'):
        cfg = Config.fromfile(osp.join(CFG_DIR, name))
        for loader in (cfg.val_dataloader, cfg.test_dataloader):
            assert not _pipeline(loader.dataset.pipeline, 'SampleVideoFrames')


@pytest.mark.parametrize('name,stats,specaug,mixup,noise,target_length', [
    ('vggsound_finetune.py', (-5.189, 3.260), (192, 48), 0.5, True, 1024),
    ('esc50_finetune.py', (-6.627, 5.359), (96, 24), 0.0, False, 512),
    ('speechcommands_finetune.py', (-6.702, 5.448), (48, 48), 0.5, True, 128),
])
def test_finetune_configs_follow_table10(name, stats, specaug, mixup, noise, target_length):
    cfg = Config.fromfile(osp.join(CFG_DIR, name))
    recipe = audio_recipe(cfg, cfg.train_pipeline)
    assert recipe['stats'] == stats and recipe['target_length'] == target_length
    assert recipe['specaug'] == specaug
    assert recipe['mixup'] == ((mixup, 10.) if mixup else (0., 10.))
    assert recipe['device'] == (mixup > 0)  # waveform mixup needs the fbank on the device
    assert recipe['noise_snr_db'] == (20. if noise else None)
    assert recipe['magnitude_aug']  # random time shift + magnitude augmentation (§4.3)
