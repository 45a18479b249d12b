"""InfoNCE with negatives gathered from 2 gloo processes equals the 1-process loss on the global
batch, and the DDP-averaged gradients equal the 1-process gradients."""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from mavilkit.models.losses import InfoNCELoss

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow

WORLD_SIZE = 2
GLOBAL_BATCH = 6
DIMS = 5


class TwoTower(nn.Module):
    """Audio / video projections: both InfoNCE inputs depend on trainable weights."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.audio = nn.Linear(DIMS, DIMS)
        self.video = nn.Linear(DIMS, DIMS)

    def forward(self, a, v):
        return self.audio(a), self.video(v)


def _global_batch():
    gen = torch.Generator().manual_seed(42)
    return (torch.randn(GLOBAL_BATCH, DIMS, generator=gen),
            torch.randn(GLOBAL_BATCH, DIMS, generator=gen))


def _loss_cfgs():
    return dict(
        inter=dict(temperature=0.1),
        intra=dict(temperature=1.0),
        symmetric=dict(temperature=0.1, symmetric=True),
        local_only=dict(temperature=0.1, gather_with_grad=False))


def _worker(rank, init_file, out_dir):
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=WORLD_SIZE)
    try:
        a, v = _global_batch()
        rows = slice(rank * GLOBAL_BATCH // WORLD_SIZE, (rank + 1) * GLOBAL_BATCH // WORLD_SIZE)
        results = {}
        for name, cfg in _loss_cfgs().items():
            model = DistributedDataParallel(TwoTower())
            loss, acc = InfoNCELoss(**cfg)(*model(a[rows], v[rows]), with_accuracy=True)
            loss.backward()  # DDP averages the gradients over the processes
            losses = [torch.zeros(1) for _ in range(WORLD_SIZE)]
            dist.all_gather(losses, loss.detach().reshape(1))
            results[name] = dict(
                loss=torch.cat(losses), acc=acc,
                grads={k: p.grad.clone() for k, p in model.module.named_parameters()})
        torch.save(results, osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def dist_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('infonce_dist')
    mp.spawn(_worker, args=(str(tmp / 'init'), str(tmp)), nprocs=WORLD_SIZE, join=True)
    return [torch.load(tmp / f'rank{r}.pth') for r in range(WORLD_SIZE)]


def _single_process(cfg, rows=slice(None)):
    model = TwoTower()
    a, v = _global_batch()
    loss = InfoNCELoss(**cfg)(*model(a[rows], v[rows]))
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize('name', ['inter', 'intra', 'symmetric'])
def test_gathered_infonce_equals_single_process(dist_results, name):
    cfg = _loss_cfgs()[name]
    ref_loss, ref_grads = _single_process(cfg)
    per_rank = dist_results[0][name]['loss']
    # Each process holds the loss of its own rows; with equal shares their mean is the
    # 1-process loss on the global batch.
    assert per_rank.mean().item() == pytest.approx(ref_loss.item(), rel=1e-5)
    for rank in range(WORLD_SIZE):
        for key, grad in dist_results[rank][name]['grads'].items():
            torch.testing.assert_close(grad, ref_grads[key], rtol=1e-5, atol=1e-6)


def test_local_only_switch(dist_results):
    """gather_with_grad=False contrasts each process's rows with its own rows only."""
    cfg = _loss_cfgs()['local_only']
    half = GLOBAL_BATCH // WORLD_SIZE
    local = [_single_process(cfg, slice(r * half, (r + 1) * half))[0] for r in range(WORLD_SIZE)]
    torch.testing.assert_close(dist_results[0]['local_only']['loss'], torch.stack(local))
    global_loss, _ = _single_process(_loss_cfgs()['inter'])
    assert abs(torch.stack(local).mean().item() - global_loss.item()) > 1e-3
