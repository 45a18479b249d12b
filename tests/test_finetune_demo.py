"""End to end on the demo data: stage-1 pre-training → A+V fine-tuning (mAP) and zero-shot
retrieval (R@K), through tools/train.py and tools/test.py."""
import csv
import json
import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mavilkit.testing import make_demo_dataset

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run(args, cwd=REPO):
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return proc


def metrics_of(work_dir):
    found = [osp.join(d, f) for d, _, fs in os.walk(work_dir) for f in fs if f == 'metrics.json']
    assert found, f'no metrics.json under {work_dir}'
    return json.load(open(found[0]))


def eval_prevalence(root):
    """Chance mAP: a random ranking's AP equals the class prevalence; average it over classes."""
    with open(osp.join(root, 'class_labels_indices.csv')) as f:
        num_classes = sum(1 for _ in f) - 1
    counts, total = np.zeros(num_classes), 0
    with open(osp.join(root, 'eval_segments.csv')) as f:
        rows = [r for r in csv.reader(f, skipinitialspace=True) if r and not r[0].startswith('#')]
    with open(osp.join(root, 'class_labels_indices.csv')) as f:
        mids = {r['mid']: int(r['index']) for r in csv.DictReader(f)}
    for row in rows:
        total += 1
        for mid in row[3].split(','):
            counts[mids[mid]] += 1
    return 100 * (counts / total).mean()


@pytest.mark.timeout(600)
def test_demo_finetune_and_retrieval(tmp_path):
    data = str(tmp_path / 'demo') + '/'
    make_demo_dataset(data, num_clips=64, seed=1)
    pre = tmp_path / 'pre'
    run(['tools/train.py', 'configs/demo/mavil-s1_demo.py', '--work-dir', str(pre),
         '--cfg-options', f'train_dataloader.dataset.data_root={data}', 'train_cfg.max_epochs=3'])
    ckpt = str(pre / 'epoch_3.pth')

    ft = tmp_path / 'ft'
    run(['tools/train.py', 'configs/demo/finetune-av_demo.py', '--work-dir', str(ft),
         '--cfg-options', f'model.init_cfg.checkpoint={ckpt}',
         f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
         'train_cfg.val_interval=100'])
    test_dir = tmp_path / 'ft_test'
    preds = tmp_path / 'preds.pkl'
    run(['tools/test.py', 'configs/demo/finetune-av_demo.py', str(ft / 'epoch_8.pth'),
         '--work-dir', str(test_dir), '--out', str(preds),
         '--cfg-options', f'test_dataloader.dataset.data_root={data}'])
    chance = eval_prevalence(data)
    m = metrics_of(test_dir)
    assert m['audioset/num_classes_without_positives'] == 0
    assert m['audioset/mAP'] > chance + 30, (m, chance)  # e.g. ~95 vs ~30
    assert osp.getsize(preds) > 0

    ret_dir = tmp_path / 'ret'
    run(['tools/test.py', 'configs/demo/retrieval_demo.py', ckpt, '--work-dir', str(ret_dir),
         '--cfg-options', f'test_dataloader.dataset.data_root={data}'])
    r = metrics_of(ret_dir)
    n = r['retrieval/num_samples']
    assert n == 16
    for direction in ('a2v', 'v2a'):
        recalls = [r[f'retrieval/{direction}_R@{k}'] for k in (1, 5, 10)]
        assert recalls == sorted(recalls) and 0 <= recalls[0] and recalls[-1] <= 100
        assert 1 <= r[f'retrieval/{direction}_MedR'] <= n
