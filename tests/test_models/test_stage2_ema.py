"""One-stage EMA teacher (MAViL Appendix B) and the optional raw loss (footnote 1)."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules
from test_stage2_targets import make_inputs, save_teacher, tiny_mavil

register_all_modules()


def ema_student(momentum=0.1, **kwargs):
    torch.manual_seed(0)
    model = MODELS.build(tiny_mavil(
        target_generator=dict(type='EMATarget', momentum=momentum, **kwargs), raw_weight=1.0))
    return model


def encoder_params(model):
    """The student's f_a, f_v, g_av parameters under the EMA's names."""
    return {f'{part}.{k}': v.detach().clone()
            for part in ('audio_backbone', 'video_backbone', 'neck')
            for k, v in getattr(model, part).named_parameters()}


def test_ema_update_matches_hand_computation():
    m = 0.1
    model = ema_student(momentum=m)
    model.train()
    tg = model.target_generator
    ema = dict(tg.ema.module.named_parameters())
    assert set(ema) == set(encoder_params(model))
    inputs = make_inputs()

    # first training forward: the EMA starts as a copy of the (initialised) student
    first = encoder_params(model)
    tg(inputs)
    for k, v in first.items():
        assert torch.equal(ema[k], v), k

    # the student moves; the next forward gives θ_ema = (1 - m)·θ_ema + m·θ_student
    g = torch.Generator().manual_seed(1)
    for step in range(2):
        old_ema = {k: v.detach().clone() for k, v in ema.items()}
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.05 * torch.randn(p.shape, generator=g))
        student = encoder_params(model)
        tg(inputs)
        for k in student:
            expected = (1 - m) * old_ema[k].double() + m * student[k].double()
            torch.testing.assert_close(ema[k].double(), expected, rtol=0, atol=1e-6)
    assert int(tg.ema.steps) == 3

    # a training step updates the EMA once, with the weights before the optimizer step
    optim_wrapper = build_optim_wrapper(
        model, dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.5)))
    old_ema = {k: v.detach().clone() for k, v in ema.items()}
    before = encoder_params(model)
    model.train_step(dict(inputs=make_inputs(seed=3)), optim_wrapper)
    assert int(tg.ema.steps) == 4
    for k in before:
        expected = (1 - m) * old_ema[k].double() + m * before[k].double()
        torch.testing.assert_close(ema[k].double(), expected, rtol=0, atol=1e-6)

    # no update in eval mode
    frozen = {k: v.clone() for k, v in ema.items()}
    model.eval()
    tg(inputs)
    assert all(torch.equal(frozen[k], ema[k]) for k in ema)


def test_ema_targets_are_normalised_fusion_outputs_of_the_ema():
    model = ema_student()
    model.train()
    inputs = make_inputs()
    targets = model.target_generator(inputs)  # first update: EMA == student
    with torch.no_grad():
        a_mm, v_mm = model.neck(model.audio_backbone(inputs['audio']),
                                model.video_backbone(inputs['video']))
    for got, ref in ((targets['audio'], a_mm[:, 1:]), (targets['video'], v_mm[:, 1:])):
        ref = ref.double()
        mean = ref.mean(-1, keepdim=True)
        expected = (ref - mean) / torch.sqrt(((ref - mean)**2).mean(-1, keepdim=True) + 1e-6)
        torch.testing.assert_close(got.double(), expected, rtol=0, atol=1e-5)
        assert not got.requires_grad and got.grad_fn is None


def test_ema_is_out_of_parameters_and_optimizer_but_saved_for_resume():
    model = ema_student()
    model.train()
    model.target_generator(make_inputs())
    ema = model.target_generator.ema
    ema_ids = {id(p) for p in ema.parameters()}
    assert not ema_ids & {id(p) for p in model.parameters()}
    assert all(not p.requires_grad for p in ema.parameters())
    assert not ema.module.training
    state = model.state_dict()
    ema_keys = [k for k in state if k.startswith('target_generator.ema.')]
    assert 'target_generator.ema.steps' in ema_keys
    assert 'target_generator.ema.module.neck.norm_audio.weight' in ema_keys
    # the separate decoder heads: EMA features (64) and raw patches (16·16 and 2·16·16·3)
    assert model.audio_decoder.head.out_features == 64
    assert model.audio_raw_decoder.head.out_features == 256
    assert model.video_raw_decoder.head.out_features == 1536

    # resume: a fresh model loads the EMA weights and step count strictly
    restored = ema_student(momentum=0.1)
    restored.load_state_dict(state, strict=True)
    assert int(restored.target_generator.ema.steps) == 1
    for (k, v), (_, w) in zip(ema.state_dict().items(),
                              restored.target_generator.ema.state_dict().items()):
        assert torch.equal(v, w), k
    # a checkpoint without EMA tensors (e.g. stage-1 weights) leaves the EMA to start anew
    restored = ema_student(momentum=0.1)
    restored.load_state_dict({k: v for k, v in state.items() if k not in ema_keys},
                             strict=True)
    assert int(restored.target_generator.ema.steps) == 0


def test_raw_loss_off_by_default_and_refused_with_raw_targets(tmp_path):
    cfg = tiny_mavil()
    save_teacher(tmp_path / 't.pth', cfg)
    student = MODELS.build(tiny_mavil(target_generator=dict(
        type='MAViLFusionTarget', teacher_config=cfg, teacher_checkpoint=str(tmp_path / 't.pth'))))
    assert student.raw_weight == 0 and not hasattr(student, 'audio_raw_decoder')
    losses = student.loss(make_inputs())
    assert not any(k.startswith('loss_raw') for k in losses)
    # switched on: the raw loss equals the masked MSE of the raw decoders' predictions
    student = MODELS.build(tiny_mavil(raw_weight=0.5, target_generator=dict(
        type='MAViLFusionTarget', teacher_config=cfg, teacher_checkpoint=str(tmp_path / 't.pth'))))
    inputs = make_inputs()
    torch.manual_seed(5)
    out = student.loss(inputs)
    torch.manual_seed(5)
    masks, preds, _, _ = student._reconstruct(inputs, second_view=True)
    patches = student.audio_backbone.patchify(inputs['audio'])
    err = ((preds['audio_raw'] - patches)**2).mean(-1)
    mask = masks['audio'].mask
    expected = 0.5 * (err * mask).sum() / mask.sum()
    torch.testing.assert_close(out['loss_raw_audio'], expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='RawTarget'):
        MODELS.build(tiny_mavil(raw_weight=1.0))


def test_target_variance_is_logged_and_collapse_stops_training():
    model = ema_student(var_check_after=0, min_target_var=0.01, norm_target=False,
                        log_interval=1)
    model.train()
    inputs = make_inputs()
    targets = model.target_generator(inputs)
    hub = MessageHub.get_current_instance()
    for m in ('audio', 'video'):
        t = targets[m].double().reshape(-1, 64)
        expected = ((t - t.mean(0))**2).sum(0).div(t.shape[0] - 1).mean().item()
        assert hub.get_scalar(f'train/target_var_{m}').current() == pytest.approx(expected,
                                                                                  rel=1e-5)
    # collapse: the student's fusion norms map every token to the same vector
    with torch.no_grad():
        for norm in (model.neck.norm_audio, model.neck.norm_video):
            norm.weight.zero_()
            norm.bias.fill_(0.3)
    model.target_generator.ema.momentum = 0.999999  # the EMA follows the student at once
    with pytest.raises(RuntimeError, match='target variance .* below min_target_var=0.01'):
        model.target_generator(inputs)


def test_ema_momentum_convention_is_checked():
    with pytest.raises(ValueError, match='weight of the new value'):
        MODELS.build(dict(type='EMATarget', momentum=0.9999 * 1e4))
    with pytest.raises(RuntimeError, match=r'setup\(student\) was not called'):
        tg = MODELS.build(dict(type='EMATarget'))
        tg(make_inputs())


def test_variance_check_runs_every_log_interval_forwards():
    """The variance (a host-device sync) is computed only every ``log_interval`` forwards."""
    model = ema_student(log_interval=3)
    model.train()
    calls = []
    original = model.target_generator._log_and_check
    model.target_generator._log_and_check = lambda t, s: calls.append(s) or original(t, s)
    inputs = make_inputs()
    for _ in range(7):
        model.target_generator(inputs)
    assert calls == [3, 6]  # EMA steps at the 3rd and 6th forward
