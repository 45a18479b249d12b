"""Data tools: missing-clip checks and fbank statistics."""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchaudio

from data_helpers import make_demo_data
from mavilkit.datasets.transforms import LoadAudio

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _run(*args):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True,
                          cwd=REPO).stdout


@pytest.mark.slow
def test_audioset_check_clips_lists_missing_rows(tmp_path):
    root = make_demo_data(tmp_path / 'demo', num_clips=4, duration=1., size=32)
    gone = sorted(os.listdir(osp.join(root, 'balanced_train')))[1]
    os.remove(osp.join(root, 'balanced_train', gone))
    out = _run('tools/data/audioset/check_clips.py', root, '--split',
               'balanced_train_segments.csv:balanced_train')
    assert '2 of 3 clips present' in out
    lines = open(osp.join(root, 'missing', 'missing_balanced_train_segments.csv')).readlines()
    assert len(lines) == 2 and lines[1].startswith(gone.split('_')[0] + ', ')


def test_audioset_check_clips_default_splits_on_demo_layout(tmp_path):
    """The demo dataset has AudioSet's folders: the defaults find every clip. A split with no
    clip left says 'no files probed' instead of an empty facts summary."""
    root = make_demo_data(tmp_path / 'demo', num_clips=4, duration=1., size=32)
    out = _run('tools/data/audioset/check_clips.py', root, '--no-probe')
    assert '3 of 3 clips present' in out and '1 of 1 clips present' in out
    for name in os.listdir(osp.join(root, 'eval')):
        os.remove(osp.join(root, 'eval', name))
    out = _run('tools/data/audioset/check_clips.py', root)
    assert '0 of 1 clips present' in out and 'no files probed' in out
    assert out.count('codecs:') == 1  # only balanced_train/ (3 clips) is summarised
    # unbalanced_train_segments.csv is absent: skipped, not an error
    assert 'unbalanced_train_segments.csv: not found, skipped' in out


@pytest.mark.slow
def test_vggsound_check_clips(tmp_path):
    (tmp_path / 'video').mkdir()
    (tmp_path / 'vggsound.csv').write_text('---g-f_I2yQ,1,people marching,test\n'
                                           '--0PQM4-hqg,30,"cattle, bovinae cowbell",train\n')
    (tmp_path / 'video' / '---g-f_I2yQ_000001.mp4').write_bytes(b'')
    out = _run('tools/data/vggsound/check_clips.py', str(tmp_path))
    assert 'test: 1 of 1' in out and 'train: 0 of 1' in out
    assert (tmp_path / 'missing.csv').read_text().strip() == \
        '--0PQM4-hqg,30,"cattle, bovinae cowbell",train'


@pytest.mark.slow
def test_compute_fbank_stats_matches_direct_computation(tmp_path):
    root = make_demo_data(tmp_path / 'demo', num_clips=4, duration=1., size=32)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        "default_scope = 'mavilkit'\n"
        "train_dataloader = dict(dataset=dict(type='AudioSetDataset', "
        f"data_root={root!r}, ann_file='balanced_train_segments.csv', "
        "label_file='class_labels_indices.csv', data_prefix=dict(video='balanced_train'), "
        "pipeline=[dict(type='AudioFbank', target_length=64)]))\n")
    out = _run('tools/data/compute_fbank_stats.py', str(cfg), '--num-workers', '0')
    mean, std = map(float, re.search(r'mean=(\S+), std=(\S+)', out).groups())
    values = []
    for name in sorted(os.listdir(osp.join(root, 'balanced_train'))):
        wave = torch.from_numpy(LoadAudio()(dict(filename=osp.join(root, 'balanced_train', name)))
                                ['waveform'])[None]
        values.append(torchaudio.compliance.kaldi.fbank(
            wave - wave.mean(), htk_compat=True, sample_frequency=16000, use_energy=False,
            window_type='hanning', num_mel_bins=128, dither=0.0, frame_shift=10).flatten())
    values = torch.cat(values).double().numpy()
    assert abs(mean - values.mean()) < 1e-3 and abs(std - values.std()) < 1e-3
    assert np.isfinite(mean)
