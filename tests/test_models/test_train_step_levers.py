"""Train-step levers of issue 13 §3, checked on the CPU with the demo models.

- ``MAViL(compile_blocks=...)``: regional ``torch.compile`` of every Transformer block gives
  the eager loss and gradients, keeps the state-dict keys, and reaches a frozen teacher;
- the loss path (forward, ``parse_losses``, backward) runs no host-device synchronisation:
  no ``.item()``, ``bool(tensor)``/``float(tensor)`` or data-dependent shape (``nonzero``,
  boolean-mask indexing), detected at the dispatcher, where every such call ends up
  (``aten._local_scalar_dense`` & co.). ``Tensor.tolist()`` on a CPU tensor bypasses the
  dispatcher, so it is not seen here; on a GPU ``tools/analysis/gpu_check.sh`` runs the step under
  ``torch.cuda.set_sync_debug_mode('error')``, which sees every sync including the optimizer's.
"""
import copy
import os.path as osp
import uuid

import pytest
import torch
from mmengine.config import Config
from torch.utils._python_dispatch import TorchDispatchMode

from mavilkit.models.utils.transformer import TransformerBlock, is_compiled
from tool_helpers import load_tool

write_random_teacher = load_tool('tools/analysis/benchmark_train_step.py').write_random_teacher
_info = load_tool('tools/analysis/get_model_info.py')
build_model, synthetic_inputs = _info.build_model, _info.synthetic_inputs

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEMO_S1 = osp.join(REPO, 'configs', 'demo', 'mavil-s1_demo.py')
DEMO_S2 = osp.join(REPO, 'configs', 'demo', 'mavil-s2_demo.py')

# Ops that make the host wait for the device (CUDA) or whose output shape depends on values.
SYNC_OPS = {'_local_scalar_dense', 'item', 'is_nonzero', 'nonzero', 'masked_select', 'unique',
            '_unique', '_unique2', 'unique_consecutive', 'unique_dim', 'equal'}


class SyncRecorder(TorchDispatchMode):

    def __init__(self):
        super().__init__()
        self.found = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        name = func.overloadpacket.__name__
        if name in SYNC_OPS:
            self.found.append(name)
        elif name in ('index', 'index_put', 'index_put_') and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool
                for i in (args[1] if len(args) > 1 else ())):
            self.found.append(f'{name} with a boolean mask')  # output size depends on values
        return func(*args, **(kwargs or {}))


def _loss_and_grads(model, inputs, seed=0):
    torch.manual_seed(seed)
    losses = model(inputs, None, mode='loss')
    loss, _ = model.parse_losses(losses)
    model.zero_grad(set_to_none=True)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return losses, grads


def test_compile_blocks_matches_eager():
    graphs = []

    def capture(gm, example_inputs):  # a dynamo backend that runs the captured graph as is
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    cfg = Config.fromfile(DEMO_S1)
    eager = build_model(cfg, 'cpu').train()
    cfg_c = copy.deepcopy(cfg)
    cfg_c.model['compile_blocks'] = dict(backend=capture)
    compiled = build_model(cfg_c, 'cpu').train()
    assert compiled.state_dict().keys() == eager.state_dict().keys()
    compiled.load_state_dict(eager.state_dict())
    blocks = [m for m in compiled.modules() if isinstance(m, TransformerBlock)]
    assert blocks and all(is_compiled(b) for b in blocks)
    assert not any(is_compiled(m) for m in eager.modules())

    inputs = synthetic_inputs(eager, 2)
    ref_losses, ref_grads = _loss_and_grads(eager, inputs)
    losses, grads = _loss_and_grads(compiled, inputs)
    assert graphs, 'no block went through torch.compile'
    for k, v in ref_losses.items():
        torch.testing.assert_close(losses[k], v, rtol=1e-5, atol=1e-6)
    assert grads.keys() == ref_grads.keys()
    for k, v in ref_grads.items():
        torch.testing.assert_close(grads[k], v, rtol=1e-4, atol=1e-6)
    torch._dynamo.reset()


def test_compile_blocks_reaches_the_teacher(tmp_path):
    torch._dynamo.reset()
    cfg = write_random_teacher(Config.fromfile(DEMO_S2), str(tmp_path))
    cfg.model['compile_blocks'] = dict(backend='eager')
    model = build_model(cfg, 'cpu')
    teachers = [t for _, t in model.target_generator.teachers()]
    teacher_blocks = [m for t in teachers for m in t.modules() if isinstance(m, TransformerBlock)]
    assert teacher_blocks and all(is_compiled(b) for b in teacher_blocks)
    torch._dynamo.reset()


def test_sync_recorder_detects_syncs():
    """The detector below is able to fail: each of these calls is a host-device sync."""
    x = torch.randn(4)
    for call in (lambda: x.sum().item(), lambda: bool(x.sum() > 0), lambda: float(x.max()),
                 lambda: torch.nonzero(x > 0), lambda: x[x > 0]):
        recorder = SyncRecorder()
        with recorder:
            call()
        assert recorder.found, call


@pytest.mark.parametrize('config', [DEMO_S1, DEMO_S2])
def test_loss_path_has_no_host_sync(config, tmp_path):
    cfg = write_random_teacher(Config.fromfile(config), str(tmp_path))
    model = build_model(cfg, 'cpu').train()
    inputs = synthetic_inputs(model, 2)
    recorder = SyncRecorder()
    with recorder:
        losses = model(inputs, None, mode='loss')
        loss, log_vars = model.parse_losses(losses)
        loss.backward()
    assert recorder.found == []
    # everything logged stays a tensor: turning it into numbers is left to the logger
    assert all(isinstance(v, torch.Tensor) for v in log_vars.values())


def _toy_run(tmp_path, runtime_info, monkeypatch):
    """Two epochs of 8 iterations, logging every 3: histories and the number of .item() calls."""
    from mmengine.runner import Runner

    import toy_components  # noqa: F401  (registers ToyRegressor, ToyRegressionDataset)
    calls = []
    item = torch.Tensor.item

    def counting_item(self):
        calls.append(1)
        return item(self)

    runner = Runner(
        model=dict(type='ToyRegressor'), work_dir=str(tmp_path),
        train_dataloader=dict(batch_size=4, num_workers=0,
                              dataset=dict(type='ToyRegressionDataset', num_samples=32),
                              sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        default_hooks=dict(logger=dict(type='LoggerHook', interval=3),
                           checkpoint=dict(type='CheckpointHook', interval=1),
                           **({'runtime_info': runtime_info} if runtime_info else {})),
        randomness=dict(seed=3), default_scope='mavilkit',
        # MessageHub instances are global and keyed by the experiment name, which defaults to a
        # timestamp: two runners made in the same second would share one history.
        experiment_name=f'sync_free_{uuid.uuid4().hex}')
    monkeypatch.setattr(torch.Tensor, 'item', counting_item)
    runner.train()
    monkeypatch.setattr(torch.Tensor, 'item', item)
    hub = runner.message_hub
    history = {k: list(v.data[0]) for k, v in hub.log_scalars.items()
               if k.startswith('train/') and k not in ('train/time', 'train/data_time')}
    saved = torch.load(osp.join(str(tmp_path), 'epoch_1.pth'), weights_only=False)
    return history, len(calls), saved['message_hub']['log_scalars']['train/loss'].data[0]


def test_sync_free_runtime_info_hook_matches_mmengine(tmp_path, monkeypatch):
    ref, ref_items, ref_ckpt = _toy_run(tmp_path / 'ref', None, monkeypatch)
    new, new_items, new_ckpt = _toy_run(tmp_path / 'new',
                                        dict(type='SyncFreeRuntimeInfoHook'), monkeypatch)
    assert len(ref['train/loss']) == 16  # every iteration is recorded, in order
    assert new.keys() == ref.keys()
    for key in ref:
        assert new[key] == ref[key], key
    # the checkpoint of epoch 1 holds the history up to its last iteration in both runs
    assert list(new_ckpt) == list(ref_ckpt) and len(ref_ckpt) == 8
    # mmengine: one .item() per logged value (loss, loss_mse) and iteration, all gone; the two
    # left in both runs are the DataLoader's seed draw per epoch, on the CPU generator
    assert ref_items - new_items == 2 * 16
    assert new_items == 2


def test_fused_adamw_switch_matches_foreach():
    """``optim_wrapper.optimizer.fused=True`` through mmengine's param-group constructor (the
    schedule's no-decay groups) keeps the groups and gives the default AdamW's update."""
    from mmengine.optim import build_optim_wrapper
    sched = Config.fromfile(osp.join(REPO, 'configs', '_base_', 'schedules',
                                     'mavil_pretrain_adamw_coslr-20e.py'))
    cfg = Config.fromfile(DEMO_S1)
    params, groups = {}, {}
    lr = 1e-2
    for fused in (False, True):
        torch.manual_seed(0)
        model = build_model(cfg, 'cpu').train()
        names = {id(p): n for n, p in model.named_parameters()}
        optim_cfg = copy.deepcopy(sched.optim_wrapper)
        optim_cfg.optimizer.update(lr=lr, fused=fused)
        wrapper = build_optim_wrapper(model, optim_cfg)
        assert all(bool(g['fused']) == fused for g in wrapper.optimizer.param_groups)
        groups[fused] = [(g['weight_decay'], g['betas'], [names[id(p)] for p in g['params']])
                         for g in wrapper.optimizer.param_groups]
        inputs = synthetic_inputs(model, 2)
        # one step: both start from the same gradients (a second step would compare kernels
        # on gradients that already differ by rounding, which Adam amplifies near zero)
        torch.manual_seed(1)
        loss, _ = model.parse_losses(model(inputs, None, mode='loss'))
        wrapper.update_params(loss)
        params[fused] = {n: p.detach().clone() for n, p in model.named_parameters()}
    assert groups[True] == groups[False]
    assert {wd for wd, _, _ in groups[True]} == {0.0, 1e-5}  # MAE's no-decay groups kept
    # Adam's first step is about ±lr per element; both kernels agree to 0.1 % of that
    for name, value in params[False].items():
        torch.testing.assert_close(params[True][name], value, rtol=0, atol=1e-3 * lr)
