"""The HowTo100M pre-training data config (Table 9) reads its documented list format and gives
AS-2M-shaped samples whose audio window contains the sampled video window."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config

from data_helpers import write_mp4, write_wav
from mavilkit.registry import DATASETS
from mavilkit.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA_CFG = osp.join(REPO, 'configs', '_base_', 'datasets', 'howto100m_pretrain.py')


@pytest.fixture(scope='module')
def howto_root(tmp_path_factory):
    """A 14-s video with its audio track and a 3-s video-only file with a separate wav, listed
    as configs/_base_/datasets/howto100m_pretrain.py documents."""
    root = tmp_path_factory.mktemp('howto100m')
    (root / 'videos').mkdir()
    write_mp4(root / 'videos' / 'long.mp4', duration=14., fps=10, size=32)
    write_mp4(root / 'videos' / 'short.mp4', duration=3., fps=10, size=32, with_audio=False)
    write_wav(root / 'short.wav', duration=3.)
    (root / 'train_list.txt').write_text(
        '# <video_id> <video_path> [<audio_path>]\n\nlong long.mp4\nshort short.mp4 short.wav\n')
    return root


def build(root):
    register_all_modules()
    cfg = Config.fromfile(DATA_CFG)
    return DATASETS.build(dict(cfg.train_dataloader.dataset, data_root=str(root)))


def test_list_loads_into_pretraining_samples(howto_root):
    ds = build(howto_root)
    assert [ds.get_data_info(i)['clip_id'] for i in range(len(ds))] == ['long', 'short']
    assert ds.get_data_info(1)['audio_path'] == str(howto_root / 'short.wav')
    for i in range(len(ds)):
        inputs = ds[i]['inputs']
        # Appendix B: a 1×1024×128 fbank and an 8-frame 224×224 clip, as on AS-2M
        assert tuple(inputs['audio'].shape) == (1, 1024, 128)
        assert tuple(inputs['video'].shape) == (3, 8, 224, 224)


def test_audio_window_contains_the_video_window(howto_root):
    """The pipeline cuts the 10.24 s of audio around the random 4-s video window of the long
    video (not the first 10 s of the file)."""
    ds = build(howto_root)
    steps = ds.pipeline.transforms
    names = [type(t).__name__ for t in steps]
    cut = names.index('CenterAudioOnVideo')
    assert names.index('LoadAudio') < cut and names.index('SampleVideoFrames') < cut
    assert cut < names.index('AudioFbank')
    np.random.seed(0)
    seen = 0
    for _ in range(12):
        results = ds.get_data_info(0)
        for t in steps[:cut + 1]:
            results = t(results)
        first = float(np.min(results['clip_starts']))
        last = first + results['clip_seconds']
        assert results['clip_seconds'] == 4.
        if last > 14.:  # the window wraps past the end: the transform's own tests cover it
            continue
        seen += 1
        begin, end = results['audio_window']
        assert begin <= first and last <= end, (results['audio_window'], first, last)
        assert 10.2 < end - begin < 10.3
    assert seen >= 6
