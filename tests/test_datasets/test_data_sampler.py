"""DistributedWeightedSampler: Appendix B weights, determinism, rank split."""
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from mavilkit.datasets import DistributedWeightedSampler, label_balanced_weights
from mavilkit.registry import DATA_SAMPLERS
from mavilkit.utils.setup_env import register_all_modules


class LabelOnlyDataset:
    """Stand-in dataset exposing labels the way ``BaseAVDataset`` does."""

    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def get_data_info(self, i):
        return dict(gt_label=self.labels[i])


LABELS = [[0], [0, 1], [1], [2], [0, 2]]


def test_weights_against_hand_computation():
    # counts: class 0 → 3, class 1 → 2, class 2 → 2
    w0, w1, w2 = 1000 / 3.01, 1000 / 2.01, 1000 / 2.01
    expected = [w0, w0 + w1, w1, w2, w0 + w2]
    weights = label_balanced_weights(LABELS)
    assert torch.allclose(weights, torch.tensor(expected, dtype=torch.float64))
    sampler = DistributedWeightedSampler(LabelOnlyDataset(LABELS), num_samples=10, seed=0)
    assert torch.allclose(sampler.weights, weights)


def test_frequencies_follow_weights():
    sampler = DistributedWeightedSampler(LabelOnlyDataset(LABELS), num_samples=200000, seed=1)
    assert len(sampler) == 200000
    counts = torch.bincount(torch.tensor(list(sampler)), minlength=5).double()
    expected = sampler.weights / sampler.weights.sum()
    assert torch.allclose(counts / counts.sum(), expected, atol=5e-3)


def test_default_is_200k_with_replacement_and_deterministic():
    register_all_modules()
    sampler = DATA_SAMPLERS.build(dict(type='DistributedWeightedSampler'),
                                  default_args=dict(dataset=LabelOnlyDataset(LABELS), seed=3))
    assert sampler.total_size == 200000
    first = list(sampler)
    assert first == list(sampler)  # same epoch, same draw
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_ranks_split_one_draw():
    dataset = LabelOnlyDataset(LABELS * 4)
    single = DistributedWeightedSampler(dataset, num_samples=12, seed=5)
    parts = []
    for rank in range(3):
        sampler = DistributedWeightedSampler(dataset, num_samples=12, seed=5)
        sampler.rank, sampler.world_size = rank, 3
        sampler.num_samples = 4
        parts.append(list(sampler))
    interleaved = [parts[i % 3][i // 3] for i in range(12)]
    assert interleaved == list(single)


def _worker(rank, port, out):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    try:
        sampler = DistributedWeightedSampler(LabelOnlyDataset(LABELS * 2), num_samples=9)
        sampler.set_epoch(2)
        out[rank] = (sampler.seed, len(sampler), list(sampler))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_two_gloo_processes_get_disjoint_shares_of_one_draw():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    out = mp.Manager().dict()
    mp.spawn(_worker, args=(port, out), nprocs=2, join=True)
    (seed0, len0, idx0), (seed1, len1, idx1) = out[0], out[1]
    assert seed0 == seed1 and len0 == len1 == 5  # ceil(9 / 2)
    reference = DistributedWeightedSampler(LabelOnlyDataset(LABELS * 2), num_samples=10,
                                           seed=seed0)
    reference.set_epoch(2)
    draw = list(reference)
    assert idx0 == draw[0::2] and idx1 == draw[1::2]


class _IndexDataset:
    """Samples that carry their index, with labels for the sampler."""

    def __init__(self, labels):
        self.labels = labels
        self.metainfo = dict(classes=('a', 'b', 'c'))

    def __len__(self):
        return len(self.labels)

    def get_gt_labels(self):
        return self.labels

    def __getitem__(self, i):
        return dict(inputs=torch.tensor([float(i)]), data_samples=i)


@pytest.mark.slow
def test_runner_redraws_each_epoch_through_dist_sampler_seed_hook(tmp_path):
    """A real Runner: mmengine's DistSamplerSeedHook calls set_epoch, so each epoch draws anew."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    seen = []

    class Recorder(BaseModel):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, data_samples=None, mode='loss'):
            seen.extend(data_samples)
            return dict(loss=self.w.sum())

    runner = Runner(
        model=Recorder(), work_dir=str(tmp_path),
        train_dataloader=dict(
            batch_size=4, num_workers=0, dataset=_IndexDataset(LABELS),
            sampler=dict(type='DistributedWeightedSampler', num_samples=12)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(checkpoint=None),
        randomness=dict(seed=7), default_scope='mavilkit')
    runner.train()
    assert len(seen) == 24
    # independent draw: Appendix-B weights by hand, a generator seeded with seed + epoch
    w0, w1, w2 = 1000 / 3.01, 1000 / 2.01, 1000 / 2.01
    weights = torch.tensor([w0, w0 + w1, w1, w2, w0 + w2], dtype=torch.float64)
    for epoch in (0, 1):
        g = torch.Generator().manual_seed(7 + epoch)
        expected = torch.multinomial(weights, 12, replacement=True, generator=g).tolist()
        assert seen[12 * epoch:12 * (epoch + 1)] == expected
    assert seen[:12] != seen[12:]
