"""Stage-2 teacher targets: MAViL-Fusion, MAViL-Uni, uni-modal MAEs (MAViL §3.3, Table 4)."""
import copy
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules

register_all_modules()

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def tiny_mavil(neck=dict(type='VanillaFusion', num_layers=1), target_generator=None,
               audio_size=(64, 32), video_size=(4, 32, 32), **kwargs) -> dict:
    """A 64-dim, 2-layer MAViL config on 8 audio and 8 video patches."""
    cfg = dict(
        type='MAViL',
        audio_backbone=dict(type='AudioViT', arch='tiny', input_size=audio_size, patch_size=16,
                            in_channels=1),
        video_backbone=dict(type='VideoViT', arch='tiny', input_size=video_size,
                            patch_size=(2, 16, 16), in_channels=3),
        neck=neck,
        audio_decoder=dict(type='MAEDecoder', embed_dims=32, num_layers=1, num_heads=2),
        video_decoder=dict(type='MAEDecoder', embed_dims=32, num_layers=1, num_heads=2))
    if target_generator is not None:
        cfg['target_generator'] = target_generator
    cfg.update(kwargs)
    return cfg


def save_teacher(path, cfg: dict, seed: int = 0):
    """Build a 'stage-1' model, save it in mmengine's checkpoint layout, return its state."""
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    torch.save({'meta': dict(epoch=1), 'state_dict': state}, str(path))
    return state


def make_inputs(batch=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(audio=torch.randn(batch, 1, 64, 32, generator=g),
                video=torch.randn(batch, 3, 4, 32, 32, generator=g))


def reference_model(cfg: dict, state: dict):
    """The teacher rebuilt with plain torch loading, for independent reference features."""
    model = MODELS.build(copy.deepcopy(cfg))
    model.load_state_dict(state)
    return model.eval()


@pytest.fixture(scope='module')
def teacher(tmp_path_factory):
    path = tmp_path_factory.mktemp('teacher') / 'epoch_1.pth'
    cfg = tiny_mavil()
    state = save_teacher(path, cfg, seed=1)
    return dict(cfg=cfg, path=str(path), state=state)


def student_cfg(teacher, kind='MAViLFusionTarget', **kwargs):
    return tiny_mavil(target_generator=dict(
        type=kind, teacher_config=teacher['cfg'], teacher_checkpoint=teacher['path'], **kwargs))


@torch.no_grad()
def test_fusion_targets_are_teacher_fusion_outputs_of_complete_view(teacher):
    student = MODELS.build(student_cfg(teacher))
    inputs = make_inputs()
    targets = student.target_generator(inputs)
    ref = reference_model(teacher['cfg'], teacher['state'])
    a = ref.audio_backbone(inputs['audio'])  # no ids_keep: all 8 + CLS tokens
    v = ref.video_backbone(inputs['video'])
    assert a.shape[1] == 1 + 8 and v.shape[1] == 1 + 8
    a_mm, v_mm = ref.neck(a, v)
    torch.testing.assert_close(targets['audio'], a_mm[:, 1:], rtol=0, atol=1e-6)
    torch.testing.assert_close(targets['video'], v_mm[:, 1:], rtol=0, atol=1e-6)
    assert student.target_generator.out_dims == dict(audio=64, video=64)
    # the decoders predict teacher features (width 64), not raw patches (256 / 1536 values)
    assert student.audio_decoder.head.out_features == 64
    assert student.video_decoder.head.out_features == 64


@torch.no_grad()
def test_uni_targets_are_teacher_encoder_outputs(teacher):
    student = MODELS.build(student_cfg(teacher, 'MAViLUniTarget'))
    inputs = make_inputs()
    targets = student.target_generator(inputs)
    ref = reference_model(teacher['cfg'], teacher['state'])
    torch.testing.assert_close(targets['audio'], ref.audio_backbone(inputs['audio'])[:, 1:],
                               rtol=0, atol=1e-6)
    torch.testing.assert_close(targets['video'], ref.video_backbone(inputs['video'])[:, 1:],
                               rtol=0, atol=1e-6)


@torch.no_grad()
def test_mbt_teacher_targets_exclude_bottlenecks(tmp_path):
    cfg = tiny_mavil(neck=dict(type='MBTFusion', num_layers=1, num_bottlenecks=4))
    state = save_teacher(tmp_path / 'mbt.pth', cfg)
    student = MODELS.build(tiny_mavil(target_generator=dict(
        type='MAViLFusionTarget', teacher_config=cfg,
        teacher_checkpoint=str(tmp_path / 'mbt.pth'))))
    inputs = make_inputs()
    targets = student.target_generator(inputs)
    ref = reference_model(cfg, state)
    a_mm, v_mm = ref.neck(ref.audio_backbone(inputs['audio']), ref.video_backbone(inputs['video']))
    assert targets['audio'].shape == (2, 8, 64)
    torch.testing.assert_close(targets['audio'], a_mm[:, 1:], rtol=0, atol=1e-6)


@torch.no_grad()
def test_video_change_moves_fusion_audio_targets_but_not_uni_audio_targets(teacher):
    fusion = MODELS.build(student_cfg(teacher)).target_generator
    uni = MODELS.build(student_cfg(teacher, 'MAViLUniTarget')).target_generator
    inputs = make_inputs()
    other = dict(audio=inputs['audio'].clone(), video=inputs['video'] + 1.0)
    assert not torch.allclose(fusion(inputs)['audio'], fusion(other)['audio'], atol=1e-4)
    assert torch.equal(uni(inputs)['audio'], uni(other)['audio'])
    assert not torch.allclose(uni(inputs)['video'], uni(other)['video'], atol=1e-4)


def test_norm_target_is_per_token_layer_norm_without_affine(teacher):
    plain = MODELS.build(student_cfg(teacher)).target_generator
    normed = MODELS.build(student_cfg(teacher, norm_target=True, eps=1e-6)).target_generator
    inputs = make_inputs()
    x = plain(inputs)['video'].double()
    mean = x.mean(dim=-1, keepdim=True)
    var = ((x - mean)**2).mean(dim=-1, keepdim=True)  # biased, as LayerNorm
    expected = (x - mean) / torch.sqrt(var + 1e-6)
    torch.testing.assert_close(normed(inputs)['video'].double(), expected, rtol=0, atol=1e-5)


def test_teacher_output_has_no_autograd_graph_while_student_trains(teacher):
    student = MODELS.build(student_cfg(teacher))
    student.train()
    mavil_teacher = student.target_generator.teacher('mavil')
    seen = []
    hook = mavil_teacher.audio_backbone.blocks[0].register_forward_hook(
        lambda m, i, o: seen.append((o.requires_grad, o.grad_fn, o.is_inference())))
    assert torch.is_grad_enabled()
    targets = student.target_generator(make_inputs())
    hook.remove()
    # inside the teacher: inference mode, no graph, so no activations are kept for backward
    assert seen == [(False, None, True)]
    for t in targets.values():
        assert not t.requires_grad and t.grad_fn is None
        assert not t.is_inference()  # a normal tensor: the loss may save it for backward
    assert mavil_teacher.training is False


def test_teacher_follows_the_students_autocast_state(teacher):
    tg = MODELS.build(student_cfg(teacher)).target_generator
    qkv = tg.teacher('mavil').audio_backbone.blocks[0].attn.qkv
    dtypes = []
    hook = qkv.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    tg(make_inputs())
    with torch.autocast('cpu', dtype=torch.bfloat16):
        tg(make_inputs())
    hook.remove()
    assert dtypes == [torch.float32, torch.bfloat16]


def test_teacher_is_outside_the_student(teacher):
    student = MODELS.build(student_cfg(teacher))
    mavil_teacher = student.target_generator.teacher('mavil')
    teacher_ids = {id(p) for p in mavil_teacher.parameters()}
    assert teacher_ids and not teacher_ids & {id(p) for p in student.parameters()}
    # the student's state dict is a stage-1 MAViL's: no teacher tensors are saved again
    stage1 = MODELS.build(tiny_mavil())
    assert set(student.state_dict()) == set(stage1.state_dict())
    assert not any(k.startswith('target_generator.') for k in student.state_dict())
    assert all(not m.training for m in mavil_teacher.modules())
    student.train()
    assert all(not m.training for m in mavil_teacher.modules())
    # decoders of the teacher are dropped after loading: they would never run
    assert not hasattr(mavil_teacher, 'audio_decoder')


def test_zero_context_loss_for_a_student_predicting_the_teacher(teacher):
    student = MODELS.build(student_cfg(teacher))
    inputs = make_inputs()
    targets = student.target_generator(inputs)

    class Oracle(torch.nn.Module):
        def __init__(self, out):
            super().__init__()
            self.out = out

        def forward(self, x, ids_restore):
            return self.out

    for m in ('audio', 'video'):
        setattr(student, f'{m}_decoder', Oracle(targets[m]))
    losses = student.loss(inputs)
    assert losses['loss_rec_audio'].item() == 0 and losses['loss_rec_video'].item() == 0
    assert losses['loss_inter'].item() > 0  # Eq. 6 still holds the contrastive terms
    # an offset of 0.5 on every value: (0.5)² averaged over the masked patches
    for m in ('audio', 'video'):
        setattr(student, f'{m}_decoder', Oracle(targets[m] + 0.5))
    losses = student.loss(inputs)
    assert losses['loss_rec_audio'].item() == pytest.approx(0.25, abs=1e-6)
    assert losses['loss_rec_video'].item() == pytest.approx(0.25, abs=1e-6)


def test_teacher_unchanged_after_training_steps(teacher):
    torch.manual_seed(0)
    student = MODELS.build(student_cfg(teacher))
    student.init_weights()
    mavil_teacher = student.target_generator.teacher('mavil')
    optim_wrapper = build_optim_wrapper(
        student, dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-2)))
    in_optimizer = {id(p) for g in optim_wrapper.optimizer.param_groups for p in g['params']}
    assert not in_optimizer & {id(p) for p in mavil_teacher.parameters()}
    before = {k: v.clone() for k, v in student.state_dict().items()}
    student.train()
    for step in range(3):
        student.train_step(dict(inputs=make_inputs(seed=step)), optim_wrapper)
    assert any(not torch.equal(before[k], v) for k, v in student.state_dict().items())
    for key, value in mavil_teacher.state_dict().items():
        if not key.startswith('data_preprocessor.'):
            assert torch.equal(value, teacher['state'][key]), key  # bit-identical
    assert all(not p.requires_grad and p.grad is None for p in mavil_teacher.parameters())


def test_missing_checkpoint_names_the_file(teacher, tmp_path):
    missing = str(tmp_path / 'nope' / 'epoch_20.pth')
    with pytest.raises(FileNotFoundError, match='nope/epoch_20.pth'):
        MODELS.build(tiny_mavil(target_generator=dict(
            type='MAViLFusionTarget', teacher_config=teacher['cfg'], teacher_checkpoint=missing)))


def test_mismatched_checkpoint_names_file_and_keys(teacher, tmp_path):
    state = dict(teacher['state'])
    del state['neck.norm_audio.weight']
    state['neck.extra.weight'] = torch.zeros(1)
    path = tmp_path / 'bad.pth'
    torch.save({'state_dict': state}, str(path))
    with pytest.raises(KeyError) as info:
        MODELS.build(tiny_mavil(target_generator=dict(
            type='MAViLUniTarget', teacher_config=teacher['cfg'], teacher_checkpoint=str(path))))
    message = str(info.value)
    assert 'bad.pth' in message and 'neck.norm_audio.weight' in message
    assert 'neck.extra.weight' in message


def test_checkpoint_of_another_width_is_a_shape_error(tmp_path):
    wide = tiny_mavil()
    wide['audio_decoder'] = dict(type='MAEDecoder', embed_dims=48, num_layers=1, num_heads=2)
    save_teacher(tmp_path / 'wide.pth', wide)
    with pytest.raises(ValueError, match=r'wide\.pth[\s\S]*audio_decoder'):
        MODELS.build(tiny_mavil(target_generator=dict(
            type='MAViLFusionTarget', teacher_config=tiny_mavil(),
            teacher_checkpoint=str(tmp_path / 'wide.pth'))))


def test_teacher_with_another_patch_grid_is_refused(teacher):
    with pytest.raises(ValueError, match='patch grid'):
        MODELS.build(tiny_mavil(audio_size=(96, 32), target_generator=dict(
            type='MAViLFusionTarget', teacher_config=teacher['cfg'],
            teacher_checkpoint=teacher['path'])))


def test_work_dir_resolves_to_its_last_checkpoint(teacher, tmp_path):
    work_dir = tmp_path / 'work'
    work_dir.mkdir()
    import shutil
    shutil.copy(teacher['path'], work_dir / 'epoch_3.pth')
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_3.pth'))
    tg = MODELS.build(tiny_mavil(target_generator=dict(
        type='MAViLFusionTarget', teacher_config=teacher['cfg'],
        teacher_checkpoint=str(work_dir)))).target_generator
    for key, value in tg.teacher('mavil').state_dict().items():
        assert torch.equal(value, teacher['state'][key])
    with pytest.raises(FileNotFoundError, match='last_checkpoint'):
        MODELS.build(tiny_mavil(target_generator=dict(
            type='MAViLFusionTarget', teacher_config=teacher['cfg'],
            teacher_checkpoint=str(tmp_path))))


# ---------------------------------------------------------------- uni-modal MAE teachers
def uni_mae_cfg():
    return tiny_mavil(neck=dict(type='IdentityFusion'), inter_weight=0., intra_weight=0.)


def test_uni_mae_teacher_branches_are_independent_maes():
    """With no fusion and no contrastive loss, each branch trains on its own loss only."""
    torch.manual_seed(0)
    model = MODELS.build(uni_mae_cfg())
    losses = model.loss(make_inputs())
    grads = torch.autograd.grad(losses['loss_rec_audio'], list(model.video_backbone.parameters())
                                + list(model.video_decoder.parameters()), allow_unused=True)
    assert all(g is None or torch.count_nonzero(g) == 0 for g in grads)
    grads = torch.autograd.grad(losses['loss_rec_video'], list(model.audio_backbone.parameters())
                                + list(model.audio_decoder.parameters()), allow_unused=True)
    assert all(g is None or torch.count_nonzero(g) == 0 for g in grads)


@torch.no_grad()
def test_uni_mae_targets_come_from_each_modalitys_teacher(tmp_path):
    cfg = uni_mae_cfg()
    audio_state = save_teacher(tmp_path / 'a.pth', cfg, seed=1)
    video_state = save_teacher(tmp_path / 'v.pth', cfg, seed=2)
    student = MODELS.build(tiny_mavil(target_generator=dict(
        type='UniMAETarget',
        audio_teacher=dict(config=cfg, checkpoint=str(tmp_path / 'a.pth')),
        video_teacher=dict(config=cfg, checkpoint=str(tmp_path / 'v.pth')))))
    inputs = make_inputs()
    targets = student.target_generator(inputs)
    ref_a, ref_v = reference_model(cfg, audio_state), reference_model(cfg, video_state)
    torch.testing.assert_close(targets['audio'], ref_a.audio_backbone(inputs['audio'])[:, 1:],
                               rtol=0, atol=1e-6)
    torch.testing.assert_close(targets['video'], ref_v.video_backbone(inputs['video'])[:, 1:],
                               rtol=0, atol=1e-6)
    assert not torch.allclose(targets['audio'], ref_v.audio_backbone(inputs['audio'])[:, 1:])
    # only the needed encoder of each teacher is kept, outside the student
    assert [n for n, _ in student.target_generator.teacher('audio').named_children()] == [
        'audio_backbone']
    assert set(student.state_dict()) == set(MODELS.build(tiny_mavil()).state_dict())


def test_uni_mae_teacher_spec_is_checked(tmp_path):
    with pytest.raises(KeyError, match='audio_teacher'):
        MODELS.build(tiny_mavil(target_generator=dict(
            type='UniMAETarget', audio_teacher=dict(cfg='x'),
            video_teacher=dict(config='x', checkpoint='y'))))


# ---------------------------------------------------------------- configs
S2 = 'configs/mavil/mavil-s2_vit-b-p16_vanilla2_{}_64xb8-amp-coslr-20e_as2m.py'


def test_stage2_default_config_pins_the_paper():
    cfg = Config.fromfile(osp.join(REPO, S2.format('mavil-fusion')))
    model = cfg.model
    assert model.target_generator.type == 'MAViLFusionTarget'
    assert model.target_generator.teacher_config == \
        'configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
    assert model.target_generator.teacher_checkpoint.endswith('epoch_20.pth')
    assert model.target_generator.norm_target is False
    # Eq. 6: L_context + 0.1 L_inter + 0.01 L_intra; no raw loss (footnote 1)
    assert (model.inter_weight, model.intra_weight, model.raw_weight) == (0.1, 0.01, 0.)
    assert (model.inter_loss.temperature, model.intra_loss.temperature) == (0.1, 1.0)
    assert model.mask_ratio == 0.8
    # Table 10 AS-2M PT, the same for each stage: 20 epochs, AdamW, 2e-4 per 256, wd 1e-5
    assert cfg.train_cfg.max_epochs == 20
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, tuple(opt.betas), opt.weight_decay) == (
        'AdamW', 2e-4, (0.9, 0.95), 1e-5)
    assert cfg.auto_scale_lr.base_batch_size == 256
    assert cfg.train_dataloader.batch_size * 64 == 512
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.param_scheduler[0].end == 4  # 4 warm-up epochs
    # the teacher config exists and is a stage-1 (raw-target) MAViL
    teacher = Config.fromfile(osp.join(REPO, model.target_generator.teacher_config))
    assert teacher.model.target_generator.type == 'RawTarget'


def test_table4_configs_select_their_targets():
    kinds = {'mavil-fusion': 'MAViLFusionTarget', 'mavil-uni': 'MAViLUniTarget',
             'uni-mae': 'UniMAETarget', 'raw': 'RawTarget', 'ema': 'EMATarget'}
    for name, kind in kinds.items():
        cfg = Config.fromfile(osp.join(REPO, S2.format(name)))
        assert cfg.model.target_generator.type == kind, name
        assert cfg.train_cfg.max_epochs == 20
    uni_mae = Config.fromfile(osp.join(REPO, S2.format('uni-mae'))).model.target_generator
    teacher = Config.fromfile(osp.join(REPO, uni_mae.audio_teacher.config)).model
    assert teacher.neck.type == 'IdentityFusion'
    assert teacher.inter_weight == 0 and teacher.intra_weight == 0
    ema = Config.fromfile(osp.join(REPO, S2.format('ema'))).model
    assert ema.raw_weight == 1.0 and ema.target_generator.momentum == 1e-4


# Table 5c/5d/5e ablations after stage 2 → the stage-1 ablation whose teacher they learn from
S2_ABLATIONS = {
    'mavil-fusion_ctr-w0.01-0.001': 'mavil-s1_vit-b-p16_vanilla2_ctr-w0.01-0.001',
    'mavil-fusion_ctr-w1.0-0.1': 'mavil-s1_vit-b-p16_vanilla2_ctr-w1.0-0.1',
    'mavil-fusion_video-scratch': 'mavil-s1_vit-b-p16_vanilla2_video-scratch',
}
S2_SIZES = {'s': 'mavil-s1_vit-s-p16_vanilla2', 'l': 'mavil-s1_vit-l-p16_vanilla2'}


def _s2_ablation_configs():
    suffix = '_64xb8-amp-coslr-20e_as2m'
    pairs = [(S2.format(k), f'configs/mavil/{v}{suffix}.py') for k, v in S2_ABLATIONS.items()]
    pairs += [(f'configs/mavil/mavil-s2_vit-{a}-p16_vanilla2_mavil-fusion{suffix}.py',
               f'configs/mavil/{v}{suffix}.py') for a, v in S2_SIZES.items()]
    ht = '_64xb8-amp-coslr-20e_ht100m.py'  # Table 9: pre-trained on HowTo100M
    pairs.append((f'configs/mavil/mavil-s2_vit-b-p16_vanilla2_mavil-fusion{ht}',
                  f'configs/mavil/mavil-s1_vit-b-p16_vanilla2{ht}'))
    return pairs


@pytest.mark.parametrize('student,teacher', _s2_ablation_configs(),
                         ids=lambda p: osp.basename(p)[:60])
def test_stage2_ablations_learn_from_their_stage1_run(student, teacher):
    """A Table 5 (or Table 9 HowTo100M) cell is a stage-2 model: its student keeps the ablated
    setting (contrastive weights, video initialisation, encoder size, pre-training data) of the
    stage-1 run that is its teacher, and everything else is the stage-2 default."""
    cfg = Config.fromfile(osp.join(REPO, student))
    s, t = cfg.model, Config.fromfile(osp.join(REPO, teacher)).model
    tg = s.target_generator
    assert tg.type == 'MAViLFusionTarget' and tg.teacher_config == teacher
    assert tg.teacher_checkpoint == \
        f'work_dirs/{osp.splitext(osp.basename(teacher))[0]}/epoch_20.pth'
    assert (cfg.teacher_config, cfg.teacher_checkpoint) == (tg.teacher_config,
                                                            tg.teacher_checkpoint)
    assert (s.inter_weight, s.intra_weight) == (t.inter_weight, t.intra_weight)
    for branch in ('audio_backbone', 'video_backbone'):
        assert s[branch].arch == t[branch].arch
        assert s[branch].get('init_cfg') == t[branch].get('init_cfg')
    assert s.get('raw_weight', 0.) == 0. and cfg.train_cfg.max_epochs == 20
    teacher_data = Config.fromfile(osp.join(REPO, teacher)).train_dataloader.dataset
    assert cfg.train_dataloader.dataset == teacher_data  # the student sees the teacher's data
    with open(osp.join(REPO, 'configs', 'mavil', 'README.md'), encoding='utf-8') as f:
        assert osp.basename(student) in f.read()
