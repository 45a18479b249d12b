"""Metrics under a real 2-process gloo evaluation with an uneven dataset size (tools/test.py)."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch

from eval_toy_components import toy_table
from test_eval_metrics import reference_ap

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TESTS = osp.join(REPO, 'tests')
NUM_SAMPLES = 7  # 2 ranks x batch 2 -> 8 slots: the sampler repeats sample 0 once

CONFIG = """_base_ = [{runtime!r}]
custom_imports = dict(imports=['eval_toy_components'], allow_failed_imports=False)
model = dict(type='ToyLookupModel', num_samples={n}, with_clip_index={with_clip_index})
test_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='ToyIndexDataset', num_samples={n}))
test_evaluator = [dict(type='AudioSetMAP'), dict(type='Accuracy', topk=(1, 2)),
                  dict(type='RetrievalRecall', topk=(1, 2))]
test_cfg = dict(type='TestLoop')
"""


def expected_metrics(indices):
    """Independent computation over the given sample indices (loops, no library code)."""
    scores, labels, audio, video = toy_table(NUM_SAMPLES)
    scores, audio, video = scores[indices], audio[indices], video[indices]
    labels = [labels[i].tolist() for i in indices]
    aps = []
    for c in range(scores.shape[1]):
        target = [int(c in lab) for lab in labels]
        if sum(target):
            aps.append(reference_ap(scores[:, c].tolist(), target))
    top1 = sum(int(scores[i].argmax()) in labels[i] for i in range(len(indices)))
    a = audio / audio.norm(dim=1, keepdim=True)
    v = video / video.norm(dim=1, keepdim=True)
    sim = a @ v.t()
    ranks = [sum(float(sim[i, j]) >= float(sim[i, i]) for j in range(len(indices)))
             for i in range(len(indices))]
    return dict(mAP=100 * sum(aps) / len(aps), top1=100 * top1 / len(indices),
                r1=100 * sum(r == 1 for r in ranks) / len(indices))


@pytest.mark.parametrize('with_clip_index', [True, False])
def test_two_process_evaluation_counts_each_clip_once(tmp_path, with_clip_index):
    cfg = tmp_path / 'toy_eval.py'
    cfg.write_text(CONFIG.format(runtime=osp.join(REPO, 'configs', '_base_', 'default_runtime.py'),
                                 n=NUM_SAMPLES, with_clip_index=with_clip_index))
    ckpt = tmp_path / 'toy.pth'
    torch.save(dict(state_dict={'dummy.weight': torch.zeros(1, 1), 'dummy.bias': torch.zeros(1)}),
               ckpt)
    out = tmp_path / 'preds.pkl'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([TESTS, REPO]), OMP_NUM_THREADS='1')
    port = 29641 + int(with_clip_index)
    proc = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={port}', 'tools/test.py', str(cfg), str(ckpt), '--launcher', 'pytorch',
         '--work-dir', str(tmp_path / 'work'), '--out', str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    import json
    logs = [osp.join(dp, f) for dp, _, fs in os.walk(tmp_path / 'work') for f in fs
            if f == 'metrics.json']
    metrics = json.load(open(logs[0]))

    want = expected_metrics(list(range(NUM_SAMPLES)))
    padded = expected_metrics(list(range(NUM_SAMPLES)) + [0])
    assert want['mAP'] != pytest.approx(padded['mAP'])  # the duplicate would be visible
    assert metrics['audioset/mAP'] == pytest.approx(want['mAP'], abs=1e-4)
    assert metrics['accuracy/top1'] == pytest.approx(want['top1'], abs=1e-4)
    assert metrics['retrieval/a2v_R@1'] == pytest.approx(want['r1'], abs=1e-4)
    assert metrics['retrieval/num_samples'] == NUM_SAMPLES

    with open(out, 'rb') as f:
        dumped = pickle.load(f)
    assert len(dumped) == NUM_SAMPLES
    if with_clip_index:
        assert sorted(d['clip_index'] for d in dumped) == list(range(NUM_SAMPLES))
