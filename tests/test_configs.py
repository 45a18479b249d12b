"""Every config parses, keeps ``_base_`` first and builds its model; the MAViL stage-1 configs
carry the paper's numbers (§4.2, Appendix B, Table 10) and each ablation changes exactly what
its table cell says."""
import contextlib
import glob
import inspect
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.config import Config

from mavilkit.registry import MODELS, TRANSFORMS
from mavilkit.utils import check_config_layout, register_all_modules

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALL_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'), recursive=True))
RUNNABLE = [p for p in ALL_CONFIGS if '_base_' not in p.split(osp.sep)]
MAVIL_DIR = osp.join(REPO, 'configs', 'mavil')
DEFAULT = 'mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
SUFFIX = '_64xb8-amp-coslr-20e_as2m.py'

# name → (table cell, mask ratio, neck type, neck layers, α, β, encoder arch, video init file)
_IN_SSL = 'checkpoints/mae_pretrain_vit_base.pth'
EXPECTED = {
    DEFAULT: ('default; T3 inter+intra; T5c/5d/5e middle', 0.8, 'VanillaFusion', 2, 0.1, 0.01,
              'b', _IN_SSL),
    **{f'mavil-s1_vit-b-p16_vanilla2_rec-only_mask{r}{SUFFIX}':
       (f'T1 {r}%', r / 100, 'VanillaFusion', 2, 0., 0., 'b', _IN_SSL)
       for r in (50, 60, 70, 80, 90)},
    f'mavil-s1_vit-b-p16_nofusion_rec-only{SUFFIX}':
        ('T2 None', 0.8, 'IdentityFusion', 0, 0., 0., 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_vanilla4_rec-only{SUFFIX}':
        ('T2 Vanilla4', 0.8, 'VanillaFusion', 4, 0., 0., 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_mbt2_rec-only{SUFFIX}':
        ('T2 MBT2', 0.8, 'MBTFusion', 2, 0., 0., 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_mbt4_rec-only{SUFFIX}':
        ('T2 MBT4', 0.8, 'MBTFusion', 4, 0., 0., 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_vanilla2_inter{SUFFIX}':
        ('T3 inter', 0.8, 'VanillaFusion', 2, 0.1, 0., 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_vanilla2_intra{SUFFIX}':
        ('T3 intra', 0.8, 'VanillaFusion', 2, 0., 0.01, 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_vanilla2_ctr-w0.01-0.001{SUFFIX}':
        ('T5c low', 0.8, 'VanillaFusion', 2, 0.01, 0.001, 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_vanilla2_ctr-w1.0-0.1{SUFFIX}':
        ('T5c high', 0.8, 'VanillaFusion', 2, 1.0, 0.1, 'b', _IN_SSL),
    f'mavil-s1_vit-b-p16_vanilla2_video-scratch{SUFFIX}':
        ('T5d scratch', 0.8, 'VanillaFusion', 2, 0.1, 0.01, 'b', None),
    f'mavil-s1_vit-s-p16_vanilla2{SUFFIX}':
        ('T5e ViT-S', 0.8, 'VanillaFusion', 2, 0.1, 0.01, 's',
         'checkpoints/mae_pretrain_vit_small.pth'),
    f'mavil-s1_vit-l-p16_vanilla2{SUFFIX}':
        ('T5e ViT-L', 0.8, 'VanillaFusion', 2, 0.1, 0.01, 'l',
         'checkpoints/mae_pretrain_vit_large.pth'),
    'mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_ht100m.py':
        ('T9 HT-100M (pre-training data)', 0.8, 'VanillaFusion', 2, 0.1, 0.01, 'b', _IN_SSL),
}
# (embed dims, layers, heads) of the ViT presets (Dosovitskiy et al.; MAViL Table 5e)
ARCHS = {'s': (384, 12, 6), 'b': (768, 12, 12), 'l': (1024, 24, 16)}


@contextlib.contextmanager
def skip_weight_init():
    """Build structure only: random initialisation of ViT-B/L weights costs seconds per model
    on one CPU core and says nothing about the config."""
    with contextlib.ExitStack() as stack:
        for name in ('uniform_', 'normal_', 'trunc_normal_', 'kaiming_uniform_',
                     'kaiming_normal_', 'xavier_uniform_', 'xavier_normal_', 'constant_',
                     'zeros_', 'ones_'):
            stack.enter_context(mock.patch(f'torch.nn.init.{name}', lambda t, *a, **k: t))
        yield


def build_model(cfg):
    register_all_modules()
    model_cfg = cfg.model.copy()
    if cfg.get('data_preprocessor') is not None:
        model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    with skip_weight_init():
        return MODELS.build(model_cfg)


def _rel(path):
    return osp.relpath(path, REPO)


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=_rel)
def test_config_parses_with_base_first(path):
    check_config_layout(path)
    Config.fromfile(path)


def _missing_teacher_checkpoints(node, key=''):
    """Teacher checkpoints (stage 2) named in a model config that are not on disk.

    ``init_cfg`` checkpoints are skipped: they are only read by ``init_weights``.
    """
    if isinstance(node, dict):
        return [p for k, v in node.items() if k != 'init_cfg'
                for p in _missing_teacher_checkpoints(v, k)]
    if isinstance(node, (list, tuple)):
        return [p for v in node for p in _missing_teacher_checkpoints(v, key)]
    if isinstance(node, str) and 'checkpoint' in key and not osp.exists(osp.join(REPO, node)):
        return [node]
    return []


@pytest.mark.parametrize('path', RUNNABLE, ids=_rel)
def test_config_builds_model(path, monkeypatch):
    monkeypatch.chdir(REPO)
    cfg = Config.fromfile(path)
    missing = _missing_teacher_checkpoints(cfg.model)
    if missing:
        # A stage-2 config before its teacher is trained: the error must name the file.
        with pytest.raises(FileNotFoundError) as error:
            build_model(cfg)
        assert any(m in str(error.value) for m in missing)
        return
    model = build_model(cfg)
    assert sum(p.numel() for p in model.parameters()) > 0


def test_every_mavil_config_is_mapped_to_a_table_cell():
    """Every stage-1 config (stage-2 configs belong to the stage-2 family) has a table cell."""
    on_disk = {osp.basename(p) for p in glob.glob(osp.join(MAVIL_DIR, 'mavil-s1_*.py'))}
    assert on_disk == set(EXPECTED)
    with open(osp.join(MAVIL_DIR, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    missing = [name for name in EXPECTED if name not in readme]
    assert not missing, f'configs/mavil/README.md does not list {missing}'


def _block_params(d):
    # qkv (3d² + 3d) + proj (d² + d) + fc1 (4d² + 4d) + fc2 (4d² + d) + 2 LayerNorms (4d)
    return 12 * d * d + 13 * d


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_mavil_config_matches_its_table_cell(name):
    _, ratio, neck, layers, alpha, beta, arch, video_ckpt = EXPECTED[name]
    cfg = Config.fromfile(osp.join(MAVIL_DIR, name))
    m = cfg.model
    assert m.mask_ratio == pytest.approx(ratio)
    assert m.inter_weight == pytest.approx(alpha) and m.intra_weight == pytest.approx(beta)
    assert m.neck.type == neck
    if layers:
        assert m.neck.num_layers == layers
    if neck == 'MBTFusion':
        assert m.neck.num_bottlenecks == 4  # Appendix B: 4 MBT tokens
    assert m.audio_backbone.arch == arch and m.video_backbone.arch == arch
    init = m.video_backbone.get('init_cfg')
    assert (init['checkpoint'] if init else None) == video_ckpt
    assert m.audio_backbone.get('init_cfg') is None  # audio from scratch (§4.2)
    # Everything else is the default's: same temperatures, decoders, targets, schedule, data.
    assert m.inter_loss.temperature == 0.1 and m.intra_loss.temperature == 1.0
    assert m.target_generator == dict(type='RawTarget', norm_pix=True)
    for dec in (m.audio_decoder, m.video_decoder):
        assert (dec.embed_dims, dec.num_layers, dec.num_heads) == (512, 8, 16)
    assert cfg.train_dataloader.batch_size == 8 and '64xb8' in name
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper' and cfg.train_cfg.max_epochs == 20
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['ReconstructionVisualizationHook']['mask_ratio'] == 0.7

    model = build_model(cfg)
    dims, depth, _ = ARCHS[arch]
    assert model.audio_backbone.num_patches == 512 and model.video_backbone.num_patches == 784
    blocks = depth * _block_params(dims)
    # + patch embedding (patch values × d + d), CLS, final norm
    audio = blocks + 256 * dims + dims + dims + 2 * dims
    video = blocks + 1536 * dims + dims + dims + 2 * dims
    assert sum(p.numel() for p in model.audio_backbone.parameters()) == audio
    assert sum(p.numel() for p in model.video_backbone.parameters()) == video
    neck_params = sum(p.numel() for p in model.neck.parameters())
    norms = 2 * 2 * dims  # the per-modality output norms
    expected_neck = {'IdentityFusion': 0,
                     'VanillaFusion': layers * _block_params(dims) + norms,
                     'MBTFusion': layers * _block_params(dims) + norms + 4 * dims}[neck]
    assert neck_params == expected_neck
    assert (model.inter_loss is None) == (alpha == 0)
    assert (model.intra_loss is None) == (beta == 0)


@pytest.mark.parametrize(
    'path', sorted(glob.glob(osp.join(MAVIL_DIR, 'mavil-s*.py'))), ids=osp.basename)
def test_pretraining_raw_targets_are_normalised_per_patch(path):
    """Audio-MAE, MAE and mae_st pre-train with norm_pix_loss=True; so does every pre-training
    config, for its main targets when they are raw and for the extra raw loss (EMA variant)."""
    m = Config.fromfile(path).model
    if m.target_generator.type == 'RawTarget':
        assert m.target_generator.norm_pix is True
    if m.get('raw_weight', 0) > 0:
        assert m.raw_target == dict(type='RawTarget', norm_pix=True)


def test_default_config_has_the_paper_numbers():
    cfg = Config.fromfile(osp.join(MAVIL_DIR, DEFAULT))
    m = cfg.model
    # §4.2 / Appendix B
    assert m.audio_backbone.input_size == (1024, 128) and m.audio_backbone.patch_size == 16
    assert m.video_backbone.input_size == (8, 224, 224)
    assert m.video_backbone.patch_size == (2, 16, 16)
    assert m.mask_ratio == 0.8
    assert (m.inter_loss.temperature, m.inter_weight) == (0.1, 0.1)
    assert (m.intra_loss.temperature, m.intra_weight) == (1.0, 0.01)
    assert m.inter_loss.gather_with_grad and m.intra_loss.gather_with_grad
    # Table 10, AS-2M PT
    opt = cfg.optim_wrapper
    assert opt.type == 'AmpOptimWrapper' and opt.dtype == 'bfloat16'
    assert opt.optimizer.type == 'AdamW' and opt.optimizer.lr == 2e-4
    assert tuple(opt.optimizer.betas) == (0.9, 0.95) and opt.optimizer.weight_decay == 1e-5
    assert 'clip_grad' not in opt or opt.clip_grad is None  # "Gradient clipping: None"
    assert cfg.auto_scale_lr.base_batch_size == 256 and cfg.auto_scale_lr.enable
    warmup, cosine = cfg.param_scheduler
    assert warmup.type == 'LinearLR' and (warmup.begin, warmup.end) == (0, 4)
    assert cosine.type == 'CosineAnnealingLR' and (cosine.begin, cosine.end) == (4, 20)
    assert cosine.T_max == 16 and cosine.eta_min == 1e-6
    assert warmup.by_epoch and cosine.by_epoch
    assert cfg.train_cfg.max_epochs == 20
    assert 64 * cfg.train_dataloader.batch_size == 512
    # Data (Appendix B, Table 10): fbank settings and AudioSet statistics, 8 frames @ 2 fps
    register_all_modules()
    steps = {s['type']: s for s in cfg.train_dataloader.dataset.datasets[0].pipeline}

    def arg(step, key):
        if key in steps[step]:
            return steps[step][key]
        return inspect.signature(TRANSFORMS.get(step)).parameters[key].default

    assert arg('AudioFbank', 'num_mel_bins') == 128
    assert arg('AudioFbank', 'target_length') == 1024
    assert arg('AudioFbank', 'frame_shift') == 10
    assert (arg('AudioFbank', 'mean'), arg('AudioFbank', 'std')) == (-4.268, 4.569)
    assert (arg('SampleVideoFrames', 'clip_len'), arg('SampleVideoFrames', 'frame_rate')) == (8, 2)
    assert tuple(arg('VideoRandomResizedCrop', 'scale')) == (0.2, 1.0)
    assert arg('VideoRandomResizedCrop', 'size') == 224
    assert arg('VideoFlip', 'flip_ratio') == 0.5
    assert cfg.data_preprocessor.get('mixup_alpha', 0.) == 0.  # no mixup in pre-training
    hooks = {h['type']: h for h in cfg.custom_hooks}
    assert hooks['ReconstructionVisualizationHook']['mask_ratio'] == 0.7  # Fig. 3


def test_lr_scaling_follows_appendix_b():
    """lr_eff = lr_base · batch / 256: mmengine's own ``Runner.scale_lr`` on 64 × 8 → 4e-4."""
    from types import SimpleNamespace

    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner
    cfg = Config.fromfile(osp.join(MAVIL_DIR, DEFAULT))
    optim_cfg = cfg.optim_wrapper.copy()
    optim_cfg.update(type='OptimWrapper')  # AmpOptimWrapper needs a GPU; the lr is the same
    optim_cfg.pop('dtype')
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), optim_cfg)
    fake_runner = SimpleNamespace(
        _train_dataloader=cfg.train_dataloader, world_size=64, param_schedulers=None,
        logger=MMLogger.get_instance('test_lr_scaling'))
    Runner.scale_lr(fake_runner, wrapper, cfg.auto_scale_lr)
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(2e-4 * 512 / 256)
