"""SpeechCommandsDataset on a tiny fake Speech Commands v1 tree: SPC-1 labels, split lists,
silence chunks and Table 10's class balancing (footnote *), checked against hand counts."""
import os.path as osp
from collections import Counter
from unittest import mock

import numpy as np
import pytest
import soundfile
from mmengine.config import Config
from mmengine.dataset import DefaultSampler, pseudo_collate

from data_helpers import audio_recipe
from mavilkit.registry import DATASETS, MODELS
from mavilkit.utils import register_all_modules

register_all_modules()

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# SPC-1's classes as in TensorFlow's speech_commands example (prepare_words_list).
SPC1 = ('_silence_', '_unknown_', 'yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off',
        'stop', 'go')
# word -> train files; plus the held-out files of the two lists (also in the word folders)
TRAIN = dict(yes=4, no=1, up=3, left=7, bed=12, cat=8)
VAL = ['yes/v_nohash_0.wav', 'bed/v_nohash_0.wav', 'left/v_nohash_0.wav']
TEST = ['no/t_nohash_0.wav', 'cat/t_nohash_0.wav']
# noise file -> (seconds, sample rate): 12 whole seconds at 16 kHz, 5 at 8 kHz
NOISE = {'noise_a.wav': (12.5, 16000), 'noise_b.wav': (5.5, 8000)}


def _wav(path, seconds=0.1, rate=16000, waveform=None):
    if waveform is None:
        waveform = 0.1 * np.sin(np.arange(int(seconds * rate)) * 0.05)
    soundfile.write(str(path), waveform, rate, subtype='PCM_16')


def noise_waveform(seconds, rate):
    """Second ``k`` holds a constant level ``(k + 1) / 32`` so that chunks are recognisable."""
    t = np.arange(int(seconds * rate))
    return (t // rate + 1) / 32.


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('speech_commands_v0.01')
    for word, n in TRAIN.items():
        (root / word).mkdir()
        for i in range(n):
            _wav(root / word / f'spk{i}_nohash_0.wav')
    for rel in VAL + TEST:
        _wav(root / rel)
    (root / 'cat' / 'notes.txt').write_text('not audio')
    (root / 'LICENSE').write_text('CC-BY-4.0')
    (root / 'validation_list.txt').write_text('\n'.join(VAL) + '\n')
    (root / 'testing_list.txt').write_text('\n'.join(TEST) + '\n\n')
    (root / '_background_noise_').mkdir()
    for name, (seconds, rate) in NOISE.items():
        _wav(root / '_background_noise_' / name, waveform=noise_waveform(seconds, rate),
             rate=rate)
    return str(root)


def build(root, **kwargs):
    kwargs.setdefault('pipeline', [])
    return DATASETS.build(dict(type='SpeechCommandsDataset', data_root=root, **kwargs))


def labels_by_id(dataset):
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return {info['clip_id']: info['gt_label'] for info in infos}


def test_spc1_labels_and_split_lists(root):
    train, val, test = (build(root, split=s) for s in ('train', 'val', 'test'))
    for ds in (train, val, test):
        assert ds.metainfo['classes'] == SPC1 and ds.num_classes == 12
    ids = labels_by_id(train)
    assert ids['yes/spk0_nohash_0'] == [2] and ids['left/spk6_nohash_0'] == [6]
    assert ids['up/spk2_nohash_0'] == [4] and ids['no/spk0_nohash_0'] == [3]
    assert ids['bed/spk11_nohash_0'] == [1] and ids['cat/spk7_nohash_0'] == [1]  # unknown
    assert ids['_silence_/noise_a_0'] == [0]
    # the held-out files are in the word folders but never in train
    speech = {i for i in ids if not i.startswith('_silence_')}
    assert len(speech) == sum(TRAIN.values())
    assert not speech & {r[:-4] for r in VAL + TEST}
    assert labels_by_id(val) == {'yes/v_nohash_0': [2], 'bed/v_nohash_0': [1],
                                 'left/v_nohash_0': [6], '_silence_/noise_a_10': [0]}
    assert labels_by_id(test) == {'no/t_nohash_0': [3], 'cat/t_nohash_0': [1],
                                  '_silence_/noise_a_11': [0]}
    info = val.get_data_info(3)
    assert info['audio_path'] == osp.join(root, '_background_noise_', 'noise_a.wav')
    assert info['audio_segment'] == (10., 11.)


def test_silence_chunk_counts(root):
    # noise_a: 12 whole seconds, h = floor(0.1 * 12) = 1 -> 10 / 1 / 1
    # noise_b: 5 whole seconds (8 kHz), h = floor(0.5) = 0 -> 5 / 0 / 0
    expected = dict(train=15, val=1, test=1)
    for split, n in expected.items():
        ids = labels_by_id(build(root, split=split))
        assert sum(label == [0] for label in ids.values()) == n, split
    train = labels_by_id(build(root, split='train'))
    assert {i for i in train if i.startswith('_silence_/noise_b')} == \
        {f'_silence_/noise_b_{k}' for k in range(5)}
    # a larger held-out fraction: h = floor(0.3 * 12) = 3 and floor(0.3 * 5) = 1
    assert len(build(root, split='val', silence_held_out=0.3)) == 3 + 3 + 1


def test_balancing_counts_by_hand(root):
    ds = build(root, split='train', balance_classes=True)
    counts = Counter(ds.get_data_info(i)['gt_label'][0] for i in range(len(ds)))
    # n_unknown = 12 + 8 = 20; r_c = max(1, floor(20 / (2 n_c) + 1/2)):
    # yes 4 -> 2.5 -> 3; no 1 -> 10; up 3 -> 3.33 -> 3; left 7 -> 1.43 -> 1; silence 15 -> 1
    assert counts == {1: 20, 2: 4 * 3, 3: 1 * 10, 4: 3 * 3, 6: 7 * 1, 0: 15 * 1}
    assert len(ds) == 20 + 12 + 10 + 9 + 7 + 15


def test_balanced_list_is_deterministic_and_sharded_by_default_sampler(root):
    a = build(root, split='train', balance_classes=True)
    b = build(root, split='train', balance_classes=True)
    ids = [a.get_data_info(i)['clip_id'] for i in range(len(a))]
    assert ids == [b.get_data_info(i)['clip_id'] for i in range(len(b))]
    shards = []
    for rank in range(2):
        with mock.patch('mmengine.dataset.sampler.get_dist_info', return_value=(rank, 2)):
            sampler = DefaultSampler(a, shuffle=True, seed=0)
        shards.append(list(sampler))
    assert len(shards[0]) == len(shards[1]) == (len(a) + 1) // 2
    assert set(shards[0]) | set(shards[1]) == set(range(len(a)))


def test_silence_sample_is_its_one_second_chunk(root):
    val = build(root, split='val', pipeline=[dict(type='LoadAudio', sample_rate=16000)])
    chunk = val[3]['waveform']  # _silence_/noise_a_10
    assert chunk.shape == (16000, )
    np.testing.assert_allclose(chunk, 11 / 32., atol=1e-4)  # level of second 10
    # the 8 kHz file is resampled to 16 kHz before cutting its second 2
    train = build(root, split='train', pipeline=[dict(type='LoadAudio', sample_rate=16000)])
    index = [train.get_data_info(i)['clip_id'] for i in range(len(train))].index(
        '_silence_/noise_b_2')
    chunk = train[index]['waveform']
    assert chunk.shape == (16000, )
    np.testing.assert_allclose(chunk[200:-200], 3 / 32., atol=2e-3)


def test_spc2_task_uses_every_word_folder(root):
    ds = build(root, split='val', task='spc2')
    assert ds.metainfo['classes'] == ('bed', 'cat', 'left', 'no', 'up', 'yes')
    assert labels_by_id(ds) == {'yes/v_nohash_0': [5], 'bed/v_nohash_0': [0],
                                'left/v_nohash_0': [2]}
    assert len(build(root, split='train', task='spc2')) == sum(TRAIN.values())


def test_bad_input_errors(root, tmp_path):
    with pytest.raises(ValueError, match='balance_classes'):
        build(root, split='val', balance_classes=True)
    with pytest.raises(ValueError, match='task'):
        build(root, task='spc3')
    with pytest.raises(FileNotFoundError, match='does not exist'):
        build(str(tmp_path / 'nowhere'))
    bad = tmp_path / 'bad'
    (bad / 'yes').mkdir(parents=True)
    _wav(bad / 'yes' / 'a_nohash_0.wav')
    (bad / 'validation_list.txt').write_text('yes/a_nohash_0.wav\nyes a.wav\n')
    (bad / 'testing_list.txt').write_text('')
    with pytest.raises(ValueError, match=r'validation_list.txt:2'):
        build(str(bad), split='val', task='spc2')
    with pytest.raises(FileNotFoundError, match='_background_noise_'):
        build(str(bad), split='test')
    (bad / 'validation_list.txt').write_text('yes/a_nohash_0.wav\n')
    (bad / 'testing_list.txt').unlink()
    with pytest.raises(FileNotFoundError, match='testing_list.txt'):
        build(str(bad), split='train', task='spc2')


def test_spc1_configs_follow_table10(root):
    base = Config.fromfile(osp.join(REPO, 'configs/_base_/datasets/spc1_finetune.py'))
    recipe = audio_recipe(base, base.train_pipeline)
    assert recipe['stats'] == (-6.702, 5.448)
    assert recipe['target_length'] == 128  # 1 s at a 10 ms shift
    assert recipe['specaug'] == (48, 48) and recipe['noise_snr_db'] == 20.
    assert recipe['magnitude_aug'] and recipe['mixup'] == (0.5, 10.) and recipe['device']
    loaders = dict(train=base.train_dataloader, val=base.val_dataloader,
                   test=base.test_dataloader)
    for split, loader in loaders.items():
        assert loader.dataset.split == split and loader.dataset.task == 'spc1'
        assert loader.dataset.get('balance_classes', False) == (split == 'train')
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/mavil/benchmarks/'
                 'vit-base-p16_mavil-s2-as2m-pre_4xb64-coslr-10e_spc1-a.py'))
    assert cfg.model.head.num_classes == len(SPC1) and cfg.model.head.loss == 'bce'
    assert tuple(cfg.model.audio_backbone.input_size) == (128, 128)
    assert cfg.model.audio_backbone.init_cfg.crop_pos_embed
    # the real train pipeline on the fake tree: one silence and one keyword sample
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = root
    ds = DATASETS.build(ds_cfg)
    ids = [ds.get_data_info(i)['clip_id'] for i in range(len(ds))]
    pre = MODELS.build(cfg.data_preprocessor)
    for clip in ('_silence_/noise_a_3', 'yes/spk1_nohash_0'):
        sample = ds[ids.index(clip)]
        # the waveform of 128 Kaldi frames (127 · 160 + 400 samples), fbank on the device
        assert tuple(sample['inputs']['audio'].shape) == (20720, )
        fbank = pre(pseudo_collate([sample, sample]), training=True)['inputs']['audio']
        assert tuple(fbank.shape) == (2, 1, 128, 128)
        assert sample['data_samples'].gt_label.tolist() == [SPC1.index(clip.split('/')[0])
                                                            if clip[0] == '_' else 2]
