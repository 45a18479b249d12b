"""Datasets: annotation parsing as released, missing and unreadable media."""
import json
import os.path as osp

import pytest
import torch

from data_helpers import (demo_dataset_cfg, make_demo_data, write_garbage, write_label_file,
                          write_mp4, write_segments_csv, write_truncated, write_wav)
from mavilkit.datasets import AudioSetDataset, AVJsonDataset, BaseAVDataset, VGGSoundDataset
from mavilkit.datasets.errors import MediaReadError
from mavilkit.registry import DATASETS
from mavilkit.utils.setup_env import register_all_modules

PIPELINE = [
    dict(type='LoadAudio'),
    dict(type='AudioFbank', target_length=256),
    dict(type='SampleVideoFrames', clip_len=4, frame_rate=2),
    dict(type='VideoResizeCenterCrop', size=32),
    dict(type='PackAVInputs'),
]

# Three lines exactly as in Google's eval_segments.csv (header, spaces, quoted multi-labels,
# a YTID starting with '-').
AUDIOSET_CSV = '''# Segments csv created Sun Mar  5 10:54:25 2017
# num_ytids=20371, num_segs=20371, num_unique_labels=527, num_positive_labels=51804
# YTID, start_seconds, end_seconds, positive_labels
--4gqARaEJE, 0.000, 10.000, "/m/068hy,/m/07q6cd_,/m/0bt9lr,/m/0jbk"
--BfvyPmVMo, 20.000, 30.000, "/m/03l9g"
-0BIyqJj9ZU, 30.000, 40.000, "/m/07rgt08,/m/07sq110,/t/dd00001"
'''
AUDIOSET_LABELS = [('/m/068hy', 'Domestic animals, pets'), ('/m/07q6cd_', 'Squeak'),
                   ('/m/0bt9lr', 'Dog'), ('/m/0jbk', 'Animal'), ('/m/03l9g', 'Hammer'),
                   ('/m/07rgt08', 'Chuckle, chortle'), ('/m/07sq110', 'Belly laugh'),
                   ('/t/dd00001', 'Baby laughter')]


@pytest.fixture(autouse=True, scope='module')
def _registry():
    register_all_modules()


@pytest.fixture
def log_messages(monkeypatch):
    """Messages the datasets log (mmengine's logger writes to the stream it was built with)."""
    import mavilkit.datasets.base_av_dataset as module
    messages = []
    monkeypatch.setattr(module, 'print_log', lambda msg, **kwargs: messages.append(msg))
    return messages


def _write_audioset(tmp_path, touch=True):
    (tmp_path / 'eval_segments.csv').write_text(AUDIOSET_CSV)
    write_label_file(tmp_path / 'class_labels_indices.csv', AUDIOSET_LABELS)
    (tmp_path / 'eval').mkdir()
    if touch:
        for name in ('--4gqARaEJE_0_10', '--BfvyPmVMo_20_30', '-0BIyqJj9ZU_30_40'):
            (tmp_path / 'eval' / f'{name}.mp4').write_bytes(b'')


def test_audioset_csv_as_released(tmp_path):
    _write_audioset(tmp_path)
    ds = AudioSetDataset(data_root=str(tmp_path), ann_file='eval_segments.csv',
                         label_file='class_labels_indices.csv', data_prefix=dict(video='eval'))
    assert len(ds) == 3
    assert ds.metainfo['classes'][0] == 'Domestic animals, pets'  # quoted name with a comma
    infos = [ds.get_data_info(i) for i in range(3)]
    assert [i['clip_id'] for i in infos] == ['--4gqARaEJE', '--BfvyPmVMo', '-0BIyqJj9ZU']
    assert [i['gt_label'] for i in infos] == [[0, 1, 2, 3], [4], [5, 6, 7]]
    assert infos[2]['filename'] == osp.join(str(tmp_path), 'eval', '-0BIyqJj9ZU_30_40.mp4')
    assert all(i['num_classes'] == 8 for i in infos)


def test_audioset_filename_template(tmp_path):
    _write_audioset(tmp_path, touch=False)
    (tmp_path / 'eval' / '--BfvyPmVMo_20000_30000.mp4').write_bytes(b'')
    ds = AudioSetDataset(data_root=str(tmp_path), ann_file='eval_segments.csv',
                         label_file='class_labels_indices.csv', data_prefix=dict(video='eval'),
                         filename_tmpl='{ytid}_{start_ms}_{end_ms}.mp4')
    assert len(ds) == 1 and ds.get_data_info(0)['clip_id'] == '--BfvyPmVMo'


def test_audioset_malformed_lines_name_the_file_and_line(tmp_path):
    write_label_file(tmp_path / 'labels.csv', AUDIOSET_LABELS)
    bad = tmp_path / 'bad.csv'
    bad.write_text('# YTID, start_seconds, end_seconds, positive_labels\n'
                   'abc, 0.000, 10.000, "/m/03l9g"\nabc, zero, 10.000, "/m/03l9g"\n')
    with pytest.raises(ValueError, match=r'bad.csv:3'):
        AudioSetDataset(ann_file=str(bad), label_file=str(tmp_path / 'labels.csv'))
    bad.write_text('abc, 0.000, 10.000, "/m/nope"\n')
    with pytest.raises(ValueError, match=r"bad.csv:1.*'/m/nope'"):
        AudioSetDataset(ann_file=str(bad), label_file=str(tmp_path / 'labels.csv'))
    bad.write_text('abc, 0.000, 10.000\n')
    with pytest.raises(ValueError, match=r'bad.csv:1: expected'):
        AudioSetDataset(ann_file=str(bad), label_file=str(tmp_path / 'labels.csv'))
    (tmp_path / 'nohead.csv').write_text('0,/m/03l9g,Hammer\n')
    with pytest.raises(ValueError, match='nohead.csv'):
        AudioSetDataset(ann_file=str(bad), label_file=str(tmp_path / 'nohead.csv'))


def test_missing_media_skipped_or_refused(tmp_path, log_messages):
    _write_audioset(tmp_path, touch=False)
    (tmp_path / 'eval' / '--BfvyPmVMo_20_30.mp4').write_bytes(b'')
    kwargs = dict(data_root=str(tmp_path), ann_file='eval_segments.csv',
                  label_file='class_labels_indices.csv', data_prefix=dict(video='eval'))
    ds = AudioSetDataset(**kwargs)
    assert len(ds) == 1 and ds.get_data_info(0)['clip_id'] == '--BfvyPmVMo'
    assert any('2 of 3 clips listed in' in m and '--4gqARaEJE_0_10.mp4' in m
               for m in log_messages)
    with pytest.raises(FileNotFoundError, match=r'2 of 3 clips.*--4gqARaEJE_0_10.mp4'):
        AudioSetDataset(skip_missing=False, **kwargs)
    kwargs['data_prefix'] = dict(video='nowhere')
    with pytest.raises(FileNotFoundError, match='no clip is left'):
        AudioSetDataset(**kwargs)


def test_vggsound_csv_with_comma_in_label(tmp_path):
    (tmp_path / 'vggsound.csv').write_text(
        '---g-f_I2yQ,1,people marching,test\n'
        '--0PQM4-hqg,30,"cattle, bovinae cowbell",train\n'
        '--56QUhyDQM,185,playing tennis,train\n'
        '-0_ZeJbKO8s,40,"cattle, bovinae cowbell",test\n')
    for name in ('---g-f_I2yQ_000001', '--0PQM4-hqg_000030', '--56QUhyDQM_000185',
                 '-0_ZeJbKO8s_000040'):
        (tmp_path / f'{name}.mp4').write_bytes(b'')
    train = VGGSoundDataset(ann_file=str(tmp_path / 'vggsound.csv'), split='train',
                            data_prefix=dict(video=str(tmp_path)))
    test = VGGSoundDataset(ann_file=str(tmp_path / 'vggsound.csv'), split='test',
                           data_prefix=dict(video=str(tmp_path)))
    classes = ('cattle, bovinae cowbell', 'people marching', 'playing tennis')
    assert train.metainfo['classes'] == classes == test.metainfo['classes']
    assert [train.get_data_info(i)['gt_label'] for i in range(2)] == [[0], [2]]
    assert [test.get_data_info(i)['gt_label'] for i in range(2)] == [[1], [0]]
    assert test.get_data_info(0)['filename'].endswith('---g-f_I2yQ_000001.mp4')
    given = VGGSoundDataset(ann_file=str(tmp_path / 'vggsound.csv'), split='test',
                            classes=['people marching', 'cattle, bovinae cowbell',
                                     'playing tennis'],
                            data_prefix=dict(video=str(tmp_path)))
    assert [given.get_data_info(i)['gt_label'] for i in range(2)] == [[0], [1]]
    with pytest.raises(ValueError, match='split'):
        VGGSoundDataset(ann_file=str(tmp_path / 'vggsound.csv'), split='val')


def test_av_json_datafile(tmp_path):
    write_label_file(tmp_path / 'labels.csv', AUDIOSET_LABELS)
    wav = write_wav(tmp_path / 'a.wav', duration=1.)
    write_mp4(tmp_path / 'clip_a.mp4', duration=2., size=32)
    data = {'data': [{'video_id': 'clip_a', 'wav': 'a.wav', 'video_path': str(tmp_path) + '/',
                      'labels': '/m/03l9g,/m/068hy'}]}
    (tmp_path / 'data.json').write_text(json.dumps(data))
    ds = AVJsonDataset(ann_file=str(tmp_path / 'data.json'),
                       label_file=str(tmp_path / 'labels.csv'),
                       data_prefix=dict(audio=str(tmp_path), video=''), pipeline=PIPELINE)
    info = ds.get_data_info(0)
    assert info['audio_path'] == wav and info['gt_label'] == [0, 4]
    assert info['filename'] == str(tmp_path / 'clip_a.mp4')
    sample = ds[0]
    assert sample['inputs']['audio'].shape == (1, 256, 128)
    assert sample['inputs']['video'].shape == (3, 4, 32, 32)
    audio_only = AVJsonDataset(ann_file=str(tmp_path / 'data.json'), modality=('audio', ),
                               label_file=str(tmp_path / 'labels.csv'),
                               data_prefix=dict(audio=str(tmp_path)),
                               pipeline=[dict(type='LoadAudio'), dict(type='AudioFbank'),
                                         dict(type='PackAVInputs')])
    assert 'filename' not in audio_only.get_data_info(0)
    assert set(audio_only[0]['inputs']) == {'audio'}
    (tmp_path / 'bad.json').write_text(json.dumps({'data': [{'wav': 'a.wav'}]}))
    with pytest.raises(ValueError, match="bad.json entry 0: missing key 'labels'"):
        AVJsonDataset(ann_file=str(tmp_path / 'bad.json'), label_file=str(tmp_path / 'labels.csv'))


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory):
    return make_demo_data(tmp_path_factory.mktemp('demo'), num_clips=12, duration=2., size=32)


def test_demo_sample_through_the_full_pipeline(demo_root):
    ds = DATASETS.build(demo_dataset_cfg(demo_root, PIPELINE))
    assert len(ds) == 9 and ds.num_classes == 4
    sample = ds[0]
    assert sample['inputs']['audio'].shape == (1, 256, 128)
    assert sample['inputs']['video'].shape == (3, 4, 32, 32)
    data_sample = sample['data_samples']
    assert data_sample.clip_id == 'demo0000000' and data_sample.clip_index == 0
    assert data_sample.gt_score.sum() == len(data_sample.gt_label)
    assert 'bad_media' not in data_sample


def _broken_dataset(tmp_path, demo_root, kinds, **kwargs):
    """Demo dataset whose first clips are replaced by broken files of ``kinds``."""
    import shutil
    root = tmp_path / 'root'
    shutil.copytree(demo_root, root)
    ds = DATASETS.build(demo_dataset_cfg(root, PIPELINE, lazy_init=True, **kwargs))
    ds.full_init()
    for i, kind in enumerate(kinds):
        if kind == 'ok':
            continue
        path = ds.get_data_info(i)['filename']
        good = path + '.good'
        shutil.move(path, good)
        if kind == 'empty':
            write_garbage(path, 0)
        elif kind == 'garbage':
            write_garbage(path, 4096)
        elif kind == 'truncated':
            write_truncated(good, path, 0.6)
        elif kind == 'no_audio':
            write_mp4(path, with_audio=False, size=32)
        elif kind == 'corrupt_frames':
            data = bytearray(open(good, 'rb').read())
            n = len(data)
            data[n // 5:n // 2] = bytes(n // 2 - n // 5)
            open(path, 'wb').write(data)
    return ds


@pytest.mark.parametrize('kind', ['empty', 'garbage', 'truncated', 'no_audio'])
def test_unreadable_clip_is_replaced_counted_and_logged_once(tmp_path, demo_root, kind,
                                                             log_messages):
    ds = _broken_dataset(tmp_path, demo_root, [kind], max_failure_fraction=0.5)
    bad = ds.get_data_info(0)['filename']
    first = ds[0]
    second = ds[0]
    assert first['data_samples'].bad_media == [bad]
    assert first['data_samples'].clip_id != 'demo0000000'
    assert second['data_samples'].bad_media == [bad]
    assert list(ds.bad_media) == [bad]
    assert sum(m.startswith(f'Unreadable media file {bad!r} ') for m in log_messages) == 1
    # known unreadable: marked once, never decoded again
    assert int(ds.unreadable.sum()) == 1 and ds.unreadable[0] == 1


def test_short_and_silent_media_are_not_failures(tmp_path):
    write_label_file(tmp_path / 'labels.csv')
    write_mp4(tmp_path / 'short_0_10.mp4', duration=2.5, fps=10, size=32, silent=True)
    write_segments_csv(tmp_path / 'seg.csv', [('short', 0, 10, ['/m/demo_ball'])])
    ds = AudioSetDataset(ann_file=str(tmp_path / 'seg.csv'),
                         label_file=str(tmp_path / 'labels.csv'),
                         data_prefix=dict(video=str(tmp_path)), pipeline=PIPELINE[:2] + [
                             dict(type='SampleVideoFrames'), dict(type='PackAVInputs')])
    sample = ds[0]
    audio = sample['inputs']['audio'][0]
    assert torch.isfinite(audio).all()
    # 2.5 s of silence, then zero padding: frames after the audio hold the padding value
    silence = (torch.log(torch.tensor(torch.finfo(torch.float).eps)) + 4.268) / (2 * 4.569)
    assert torch.allclose(audio[10:240], torch.full_like(audio[10:240], silence))
    assert torch.allclose(audio[260:], torch.full_like(audio[260:], 4.268 / (2 * 4.569)))
    assert sample['inputs']['video'].shape == (3, 8, 32, 32)
    assert not ds.bad_media


def test_corrupt_frames_are_detected(tmp_path, demo_root):
    ds = _broken_dataset(tmp_path, demo_root, ['corrupt_frames'], max_failure_fraction=0.5,
                         test_mode=True)
    sample = ds[0]
    assert sample['data_samples'].clip_index == 1  # test mode: the next clip
    assert list(ds.bad_media) == [ds.get_data_info(0)['filename']]


def test_failure_fraction_stops_with_clear_error(tmp_path, demo_root):
    # test mode replaces a bad clip by the next one, so the reads are deterministic
    ds = _broken_dataset(tmp_path, demo_root, ['empty', 'ok', 'ok', 'ok', 'garbage'],
                         max_failure_fraction=0.2, test_mode=True)
    # ds[0]: clip 0 fails, replaced by clip 1; ds[1..3]: read; ds[4] fails: distinct clips
    # tried {0, 1, 2, 3, 4}; 2 unreadable > 0.2 * max(5 tried, min(9 clips, 1000)) = 1.8
    for i in range(4):
        ds[i]
    with pytest.raises(RuntimeError, match=r"2 of the 5 distinct clips .* tried are unreadable, "
                       r"more than max_failure_fraction=0.2 .*'.*demo0000000_.*\.mp4' \(.*"
                       r"'.*demo0000004_.*\.mp4' \("):
        ds[4]


class _FailingEvery(BaseAVDataset):
    """Clips without files whose pipeline fails on every ``period``-th index."""

    def __init__(self, num_clips, period, **kwargs):
        self.num_clips, self.period = num_clips, period
        super().__init__(pipeline=[self._load], test_mode=True, **kwargs)

    def load_data_list(self):
        return [dict(clip_id=f'clip{i}', gt_label=[0]) for i in range(self.num_clips)]

    def _load(self, results):
        if results['sample_idx'] % self.period == 0:
            raise MediaReadError(f'clip{results["sample_idx"]}.mp4', 'no audio stream')
        return dict(inputs=results['sample_idx'])


@pytest.mark.slow
def test_failure_fraction_is_a_rate_of_reads_on_large_datasets(log_messages):
    # 2 % unreadable, 5 % tolerated: 3000 reads of a 5000-clip dataset go through
    ok = _FailingEvery(5000, period=50)
    for i in range(3000):
        ok[i]
    assert int(ok.unreadable.sum()) == 60 and int(ok.tried.sum()) == 3000
    # a third unreadable: stops once more than 5 % of max(tried, 1000) distinct clips are
    # unreadable, i.e. at the 51st, long before 5 % of the 5000 clips (250) are known to be bad
    bad = _FailingEvery(5000, period=3)
    with pytest.raises(RuntimeError, match=r'51 of the \d+ distinct clips .* at least 1000 clips'):
        for i in range(1, 5000):
            bad[i]
    assert i < 200 and len(bad.bad_media) == 51


@pytest.mark.slow
def test_bad_media_hook_reports_count_in_a_runner(tmp_path, demo_root, monkeypatch):
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Toy(BaseModel):
        def __init__(self):
            super().__init__(data_preprocessor=dict(type='AVDataPreprocessor'))
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='loss'):
            return dict(loss=self.w.sum() + inputs['audio'].mean() * 0)

    ds = _broken_dataset(tmp_path, demo_root, ['garbage'], max_failure_fraction=0.5)
    dataset_cfg = demo_dataset_cfg(ds.data_root, PIPELINE, max_failure_fraction=0.5)
    runner = Runner(
        model=Toy(), work_dir=str(tmp_path / 'work'),
        train_dataloader=dict(batch_size=3, num_workers=1, dataset=dataset_cfg,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        custom_hooks=[dict(type='BadMediaHook')],
        default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
        default_scope='mavilkit')
    import mavilkit.engine.hooks.bad_media_hook as hook_module
    hook_messages = []
    monkeypatch.setattr(hook_module, 'print_log', lambda msg, **kw: hook_messages.append(msg))
    runner.train()
    assert runner.message_hub.get_info('train/num_bad_media') == 1
    bad = ds.get_data_info(0)['filename']
    # the worker saw the failure; the main process knows the file from the shared record
    assert hook_messages == [f'train: 1 distinct unreadable media files known so far; 1 of '
                             f'the 9 samples of this epoch replaced one (e.g. {bad!r}).']


def test_dataset_holds_no_decoder_handles_and_pickles(demo_root):
    import pickle
    ds = DATASETS.build(demo_dataset_cfg(demo_root, PIPELINE))
    ds[0]
    # decoders are opened per call inside the transforms (i.e. in the worker), so the dataset
    # travels to spawned workers and no file handle is shared across fork
    clone = pickle.loads(pickle.dumps(ds))
    assert torch.equal(clone[1]['inputs']['audio'], ds[1]['inputs']['audio'])
    assert not any('decord' in type(v).__module__ for t in ds.pipeline.transforms
                   for v in vars(t).values())
