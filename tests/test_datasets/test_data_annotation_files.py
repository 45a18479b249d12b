"""Annotation files as editors save them: a UTF-8 byte-order mark, CRLF line ends and trailing
blanks give the same clips as the clean file, for every annotation reader. The expected clips
are written out by hand from the rows each test writes."""
import json
import os.path as osp

import pytest

from data_helpers import write_wav
from mavilkit.datasets import (AudioSetDataset, AVJsonDataset, RetrievalListDataset,
                               SpeechCommandsDataset, VGGSoundDataset)
from mavilkit.datasets.utils import read_class_labels_indices
from mavilkit.utils.setup_env import register_all_modules

register_all_modules()

LABELS = ['index,mid,display_name', '0,/m/a,"Dog, bark"', '1,/m/b,Cat', '2,/m/c,Bird']
SEGMENTS = ['# Segments csv created Sun Mar  5 10:54:25 2017',
            '# YTID, start_seconds, end_seconds, positive_labels',
            '--4gqARaEJE, 0.000, 10.000, "/m/a,/m/c"',
            '-0BIyqJj9ZU, 30.000, 40.000, "/m/b"',
            'zz9, 12.500, 22.500, "/m/c"']


def as_editor_saves(lines, encoding='utf-8-sig'):
    """BOM, CRLF, trailing blanks (spaces, tab, no-break space) and a blank last line."""
    blanks = ['  ', '\t', ' \u00a0', '']
    text = '\r\n'.join(line + blanks[i % len(blanks)] for i, line in enumerate(lines))
    return (text + '\r\n   \r\n').encode(encoding)


def write_both(tmp_path, name, lines, encoding='utf-8-sig'):
    """Write ``clean/name`` and ``edited/name``; return both folders."""
    clean, edited = tmp_path / 'clean', tmp_path / 'edited'
    for folder in (clean, edited):
        folder.mkdir(exist_ok=True)
    (clean / name).write_bytes(('\n'.join(lines) + '\n').encode('utf-8'))
    (edited / name).write_bytes(as_editor_saves(lines, encoding))
    return clean, edited


def clips(ds):
    keys = ('clip_id', 'filename', 'audio_path', 'gt_label', 'clip_index')
    return [{k: ds.get_data_info(i).get(k) for k in keys} for i in range(len(ds))]


@pytest.mark.parametrize('encoding', ['utf-8-sig', 'utf-16'])
def test_class_labels_indices(tmp_path, encoding):
    clean, edited = write_both(tmp_path, 'labels.csv', LABELS, encoding)
    want = ({'/m/a': 0, '/m/b': 1, '/m/c': 2}, ['Dog, bark', 'Cat', 'Bird'])
    assert read_class_labels_indices(str(clean / 'labels.csv')) == want
    assert read_class_labels_indices(str(edited / 'labels.csv')) == want


def test_audioset_segments(tmp_path):
    results = []
    for folder in write_both(tmp_path, 'seg.csv', SEGMENTS):
        (folder / 'labels.csv').write_bytes(as_editor_saves(LABELS))
        for name in ('--4gqARaEJE_0_10', '-0BIyqJj9ZU_30_40', 'zz9_12_22'):
            (folder / f'{name}.mp4').write_bytes(b'')
        ds = AudioSetDataset(ann_file=str(folder / 'seg.csv'),
                             label_file=str(folder / 'labels.csv'),
                             data_prefix=dict(video=str(folder)))
        results.append(clips(ds))
        assert clips(ds) == [
            dict(clip_id='--4gqARaEJE', filename=str(folder / '--4gqARaEJE_0_10.mp4'),
                 audio_path=None, gt_label=[0, 2], clip_index=0),
            dict(clip_id='-0BIyqJj9ZU', filename=str(folder / '-0BIyqJj9ZU_30_40.mp4'),
                 audio_path=None, gt_label=[1], clip_index=1),
            dict(clip_id='zz9', filename=str(folder / 'zz9_12_22.mp4'), audio_path=None,
                 gt_label=[2], clip_index=2)]


def test_missing_file_warning_shows_invisible_characters(tmp_path):
    (tmp_path / 'labels.csv').write_text('\n'.join(LABELS))
    # a zero-width space (not whitespace, so kept) glued to the id by a copy-paste
    (tmp_path / 'seg.csv').write_text('a\u200b, 0.000, 10.000, "/m/a"\nb, 0.000, 10.000, "/m/b"\n',
                                      encoding='utf-8')
    (tmp_path / 'a_0_10.mp4').write_bytes(b'')
    (tmp_path / 'b_0_10.mp4').write_bytes(b'')
    messages = []
    import mavilkit.datasets.base_av_dataset as module
    original = module.print_log
    module.print_log = lambda msg, **kw: messages.append(msg)
    try:
        ds = AudioSetDataset(ann_file=str(tmp_path / 'seg.csv'),
                             label_file=str(tmp_path / 'labels.csv'),
                             data_prefix=dict(video=str(tmp_path)))
    finally:
        module.print_log = original
    assert [ds.get_data_info(i)['clip_id'] for i in range(len(ds))] == ['b']
    assert len(messages) == 1
    assert repr(str(tmp_path / 'a\u200b_0_10.mp4')) in messages[0]
    assert '\\u200b' in messages[0]


def test_vggsound_csv_and_class_list(tmp_path):
    rows = ['abc,5,"cattle, bovinae cowbell",train', 'def,12,dog barking,test',
            'ghi,0,dog barking,train']
    clean, edited = write_both(tmp_path, 'vggsound.csv', rows)
    for folder in (clean, edited):
        (folder / 'classes.txt').write_bytes(as_editor_saves(['dog barking',
                                                              'cattle, bovinae cowbell']))
        for name in ('abc_000005', 'def_000012', 'ghi_000000'):
            (folder / f'{name}.mp4').write_bytes(b'')
        for classes in (None, str(folder / 'classes.txt')):
            train = VGGSoundDataset(ann_file=str(folder / 'vggsound.csv'), split='train',
                                    classes=classes, data_prefix=dict(video=str(folder)))
            test = VGGSoundDataset(ann_file=str(folder / 'vggsound.csv'), split='test',
                                   classes=classes, data_prefix=dict(video=str(folder)))
            # sorted names: 'cattle, bovinae cowbell' < 'dog barking'; the file's order otherwise
            cattle, dog = (0, 1) if classes is None else (1, 0)
            assert clips(train) == [
                dict(clip_id='abc_5', filename=str(folder / 'abc_000005.mp4'), audio_path=None,
                     gt_label=[cattle], clip_index=0),
                dict(clip_id='ghi_0', filename=str(folder / 'ghi_000000.mp4'), audio_path=None,
                     gt_label=[dog], clip_index=2)]
            assert clips(test) == [dict(clip_id='def_12', filename=str(folder / 'def_000012.mp4'),
                                        audio_path=None, gt_label=[dog], clip_index=1)]


def test_json_datafile(tmp_path):
    data = {'data': [{'video_id': 'v1', 'wav': 'audio/v1.wav', 'video_path': 'video/',
                      'labels': '/m/a,/m/b'},
                     {'video_id': 'v2', 'wav': 'audio/v2.wav ', 'video_path': 'video/v2.mp4',
                      'labels': '/m/c'}]}
    text = json.dumps(data, indent=2).split('\n')
    for folder in write_both(tmp_path, 'data.json', text):
        (folder / 'labels.csv').write_bytes(as_editor_saves(LABELS))
        for rel in ('audio/v1.wav', 'audio/v2.wav', 'video/v1.mp4', 'video/v2.mp4'):
            (folder / rel).parent.mkdir(exist_ok=True)
            (folder / rel).write_bytes(b'')
        ds = AVJsonDataset(ann_file=str(folder / 'data.json'),
                           label_file=str(folder / 'labels.csv'),
                           data_prefix=dict(audio=str(folder), video=str(folder)))
        assert clips(ds) == [
            dict(clip_id='v1', filename=osp.join(str(folder), 'video/', 'v1.mp4'),
                 audio_path=osp.join(str(folder), 'audio/v1.wav'), gt_label=[0, 1], clip_index=0),
            dict(clip_id='v2', filename=osp.join(str(folder), 'video/v2.mp4'),
                 audio_path=osp.join(str(folder), 'audio/v2.wav'), gt_label=[2], clip_index=1)]


def test_retrieval_list(tmp_path):
    lines = ['# MSR-VTT 1k-A test', 'video7010 v/video7010.mp4', '',
             'video7011 v/video7011.mp4 a/video7011.wav']
    for folder in write_both(tmp_path, 'list.txt', lines):
        for rel in ('v/video7010.mp4', 'v/video7011.mp4', 'a/video7011.wav'):
            (folder / rel).parent.mkdir(exist_ok=True)
            (folder / rel).write_bytes(b'')
        ds = RetrievalListDataset(ann_file=str(folder / 'list.txt'),
                                  data_prefix=dict(video=str(folder), audio=str(folder)))
        assert clips(ds) == [
            dict(clip_id='video7010', filename=str(folder / 'v/video7010.mp4'), audio_path=None,
                 gt_label=None, clip_index=0),
            dict(clip_id='video7011', filename=str(folder / 'v/video7011.mp4'),
                 audio_path=str(folder / 'a/video7011.wav'), gt_label=None, clip_index=1)]


def test_speech_commands_split_lists(tmp_path):
    for root in (tmp_path / 'clean', tmp_path / 'edited'):
        for rel in ('yes/s1_nohash_0.wav', 'yes/s2_nohash_0.wav', 'bed/s3_nohash_0.wav',
                    'no/s4_nohash_0.wav'):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            write_wav(root / rel, duration=0.1)
    for name, lines in (('validation_list.txt', ['yes/s2_nohash_0.wav']),
                        ('testing_list.txt', ['yes/s1_nohash_0.wav', 'bed/s3_nohash_0.wav'])):
        (tmp_path / 'clean' / name).write_text('\n'.join(lines) + '\n')
        (tmp_path / 'edited' / name).write_bytes(as_editor_saves(lines))
    for root in (tmp_path / 'clean', tmp_path / 'edited'):
        kwargs = dict(data_root=str(root), task='spc2')
        # spc2 classes: the sorted word folders bed, no, yes
        test = SpeechCommandsDataset(split='test', **kwargs)
        assert [(c['clip_id'], c['gt_label']) for c in clips(test)] == [
            ('yes/s1_nohash_0', [2]), ('bed/s3_nohash_0', [0])]
        train = SpeechCommandsDataset(split='train', **kwargs)
        # the held-out files are excluded from train whatever the list file's encoding
        assert [c['clip_id'] for c in clips(train)] == ['no/s4_nohash_0']


def test_undecodable_annotation_file_names_the_file(tmp_path):
    (tmp_path / 'labels.csv').write_bytes('index,mid,display_name\n0,/m/a,Caf\xe9\n'
                                          .encode('latin-1'))
    with pytest.raises(ValueError, match=r"labels\.csv' is not utf-8 text \(byte 33"):
        read_class_labels_indices(str(tmp_path / 'labels.csv'))
