"""Each evaluated clip is counted once, under its own identity: through ConcatDataset,
RepeatDataset and ``indices=``, in metrics and in exports. Expected values are recomputed here
from the clips the test writes."""
import numpy as np
import pytest
import torch
from mmengine.dataset import ConcatDataset, RepeatDataset

from mavilkit.datasets import AudioSetDataset
from mavilkit.evaluation.metrics import Accuracy, AudioSetMAP, RetrievalRecall
from mavilkit.utils.setup_env import register_all_modules

register_all_modules()

LABELS = 'index,mid,display_name\n0,/m/a,A\n1,/m/b,B\n2,/m/c,C\n'


def _fake_audio(results):
    """Stands in for the loaders: a 4x4 'fbank' (the identity is what is tested)."""
    return dict(results, audio=np.zeros((4, 4), np.float32))


def write_split(folder, names):
    folder.mkdir(parents=True)
    (folder / 'labels.csv').write_text(LABELS)
    rows = []
    for i, name in enumerate(names):
        (folder / f'{name}_0_10.mp4').write_bytes(b'')
        rows.append(f'{name}, 0.000, 10.000, "/m/{"abc"[i % 3]}"')
    (folder / 'seg.csv').write_text('\n'.join(rows) + '\n')
    return folder


def build(folder, **kwargs):
    return AudioSetDataset(ann_file=str(folder / 'seg.csv'), label_file=str(folder / 'labels.csv'),
                           data_prefix=dict(video=str(folder)),
                           pipeline=[_fake_audio, dict(type='PackAVInputs')], test_mode=True,
                           **kwargs)


@pytest.fixture
def two_splits(tmp_path):
    first = write_split(tmp_path / 'one', [f'a{i}' for i in range(3)])
    second = write_split(tmp_path / 'two', [f'b{i}' for i in range(9)])
    return first, second


def evaluate(dataset):
    """Score each sample by a fixed rule of its file name; run the three metrics."""
    metrics = [AudioSetMAP(), Accuracy(topk=(1, )), RetrievalRecall(topk=(1, ))]
    for i in range(len(dataset)):
        sample = dataset[i]['data_samples']
        name = sample.clip_id
        score = torch.tensor([float(ord(c)) for c in (name * 3)[:3]]) * (1 + int(name[1:]))
        row = sample.to_dict()
        row.update(pred_score=score, audio_embedding=score, video_embedding=score.flip(0))
        for metric in metrics:
            metric.process(None, [row])
    return {k: v for metric in metrics for k, v in metric.evaluate(len(dataset)).items()}


@pytest.mark.slow
def test_concat_dataset_counts_every_clip(two_splits):
    first, second = two_splits
    concat = ConcatDataset([build(first), build(second)])
    assert len(concat) == 12
    uids = [concat[i]['data_samples'].clip_uid for i in range(12)]
    assert uids == [str(first / f'a{i}_0_10.mp4') for i in range(3)] + \
        [str(second / f'b{i}_0_10.mp4') for i in range(9)]
    metrics = evaluate(concat)
    assert metrics['audioset/num_samples'] == 12
    assert metrics['retrieval/num_samples'] == 12


@pytest.mark.slow
def test_repeated_clips_are_counted_once(two_splits):
    first, second = two_splits
    assert evaluate(RepeatDataset(build(second), times=3))['audioset/num_samples'] == 9
    same_twice = ConcatDataset([build(first), build(first), build(second)])
    alone = evaluate(ConcatDataset([build(first), build(second)]))
    assert evaluate(same_twice) == alone


def test_identity_is_stable_under_indices_and_missing_files(two_splits):
    _, second = two_splits
    full = build(second)
    subset = build(second, indices=[2, 7])
    assert [subset[i]['data_samples'].clip_index for i in range(2)] == [2, 7]
    assert [subset[i]['data_samples'].clip_uid for i in range(2)] == \
        [full[2]['data_samples'].clip_uid, full[7]['data_samples'].clip_uid]
    (second / 'b3_0_10.mp4').unlink()  # a missing file does not shift the later clips
    kept = build(second)
    assert [kept[i]['data_samples'].clip_index for i in range(len(kept))] == \
        [0, 1, 2, 4, 5, 6, 7, 8]
