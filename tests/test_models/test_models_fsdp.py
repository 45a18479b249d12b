"""MAViL under torch FSDP (2 gloo processes on CPU), with auto-wrap of whole backbones and blocks.

A wrapped backbone shards its own weights; they are only gathered when the wrapper's ``forward``
runs, so the algorithm must use every backbone through ``forward`` (not ``embed``/``encode``).
"""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from test_models_mavil import tiny_inputs, tiny_mavil

# End-to-end: real training runs / spawned processes (the full tier only).
pytestmark = pytest.mark.slow


def _worker(rank, init_file, out_dir):
    dist.init_process_group('gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    from mmengine.registry import FUNCTIONS
    from torch.distributed.fsdp import FullyShardedDataParallel as FSDP

    from mavilkit.models.backbones import AudioViT
    from mavilkit.models.utils import TransformerBlock

    # The policy as docs/en/user_guides/pretrain.md selects it (mmengine resolves the string).
    policy = FUNCTIONS.get('mavilkit.models.utils.fsdp.mavil_fsdp_auto_wrap_policy')
    result = {}
    try:
        torch.manual_seed(0)
        plain = tiny_mavil()
        torch.manual_seed(0)
        wrapped = FSDP(tiny_mavil(), auto_wrap_policy=policy, device_id=torch.device('cpu'))
        x = tiny_inputs(seed=rank)
        torch.manual_seed(100 + rank)
        ref = plain(x, mode='loss')
        torch.manual_seed(100 + rank)
        out = wrapped(x, mode='loss')
        sum(v for k, v in out.items() if k.startswith('loss')).backward()
        units = [type(m.module) for m in wrapped.modules() if isinstance(m, FSDP)]
        result['wrapped_units'] = (units.count(AudioViT), units.count(TransformerBlock))
        result['ref'] = {k: v.detach() for k, v in ref.items()}
        result['fsdp'] = {k: v.detach() for k, v in out.items()}
        result['grads_finite'] = all(
            p.grad is not None and bool(torch.isfinite(p.grad).all())
            for p in wrapped.parameters() if p.numel())

        torch.manual_seed(0)
        ema = FSDP(tiny_mavil(target_generator=dict(type='EMATarget'), raw_weight=1.),
                   auto_wrap_policy=policy, device_id=torch.device('cpu'))
        try:
            ema(x, mode='loss')
            result['ema_error'] = None
        except RuntimeError as e:
            result['ema_error'] = str(e)
    finally:
        torch.save(result, osp.join(out_dir, f'rank{rank}.pth'))
        dist.destroy_process_group()


@pytest.fixture(scope='module')
def results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('fsdp')
    mp.spawn(_worker, args=(str(tmp / 'init'), str(tmp)), nprocs=2, join=True)
    return [torch.load(tmp / f'rank{r}.pth') for r in range(2)]


def test_fsdp_wrapped_backbones_give_the_unwrapped_losses(results):
    for rank in results:
        assert set(rank['fsdp']) == set(rank['ref'])
        for key, value in rank['ref'].items():
            assert torch.allclose(rank['fsdp'][key], value, atol=1e-5), key
        assert rank['grads_finite']
        # root + 2 encoders; blocks: 2 + 2 encoder, 1 fusion, 1 + 1 decoder
        assert rank['wrapped_units'] == (1, 7)


def test_ema_target_refuses_sharded_students_clearly(results):
    for rank in results:
        assert rank['ema_error'] is not None and 'FSDP' in rank['ema_error']
