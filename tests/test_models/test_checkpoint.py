"""mavilkit.models.utils.checkpoint: reading, prefixes, checked loading, position-code moves.

Expected values are built here independently: sub-grids by explicit (t, f) / (t, h, w) index
arithmetic on the flattened rows, and bicubic / linear resampling by a NumPy re-implementation
of the Keys kernel (a = -0.75, half-pixel centres, clamped borders).
"""
import math

import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from mavilkit.models import AudioViT, VideoViT
from mavilkit.models.utils.checkpoint import (CheckpointMismatchError, adapt_pos_embed,
                                              filter_by_prefix, load_checked, load_state_dict)
from mavilkit.registry import MODELS
from mavilkit.utils import load_local_checkpoint, register_all_modules

D = 64  # 'tiny' width


def random_pos(num_rows, seed=0):
    """A learned-looking code: each row different, so a wrong row is visible."""
    return torch.randn(1, num_rows, D, generator=torch.Generator().manual_seed(seed))


# --------------------------------------------------------------------------- reading
def test_state_dict_is_unwrapped_from_every_layout(tmp_path):
    sd = {'a.weight': torch.ones(2), 'b': torch.zeros(3)}
    layouts = {
        'bare': sd,
        'mmengine': {'state_dict': sd, 'meta': {'epoch': 3}},
        'mae': {'model': sd, 'epoch': 3},
        'ddp': {'state_dict': {f'module.{k}': v for k, v in sd.items()}},
        'module': {'module': sd},
    }
    for name, content in layouts.items():
        torch.save(content, tmp_path / f'{name}.pth')
        got = load_state_dict(str(tmp_path / f'{name}.pth'))
        assert sorted(got) == ['a.weight', 'b'], name
        assert torch.equal(got['a.weight'], sd['a.weight']), name


def test_work_dir_reads_its_last_checkpoint(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    torch.save({'state_dict': {'w': torch.full((2, ), 7.)}}, work / 'epoch_2.pth')
    (work / 'last_checkpoint').write_text(str(work / 'epoch_2.pth'))
    assert torch.equal(load_state_dict(str(work))['w'], torch.full((2, ), 7.))
    with pytest.raises(FileNotFoundError, match='last_checkpoint'):
        load_state_dict(str(tmp_path))
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_state_dict(str(tmp_path / 'nope.pth'))
    torch.save({'epoch': 3, 'note': 'no tensors'}, tmp_path / 'meta_only.pth')
    with pytest.raises(CheckpointMismatchError, match='meta_only.pth holds no state dict'):
        load_state_dict(str(tmp_path / 'meta_only.pth'))


def test_prefix_with_or_without_dot_and_a_clear_miss():
    sd = {'audio_backbone.x': torch.ones(1), 'audio_backbone_extra.y': torch.ones(1),
          'video_backbone.x': torch.zeros(1)}
    for prefix in ('audio_backbone', 'audio_backbone.'):
        assert list(filter_by_prefix(sd, prefix)) == ['x']
    assert filter_by_prefix(sd, None) == sd
    with pytest.raises(KeyError, match=r"mavil\.pth starts with prefix 'neck\.'.*audio_backbone"):
        filter_by_prefix(sd, 'neck', 'mavil.pth')


def test_start_up_registers_the_trusted_local_loader_once():
    register_all_modules()
    assert CheckpointLoader._schemes[''] is load_local_checkpoint


# --------------------------------------------------------------------------- checked loading
def test_one_vocabulary_for_missing_unexpected_and_mismatched():
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Linear(2, 1))
    state = {'0.weight': torch.full((2, 3), 5.), '0.bias': torch.ones(2), 'extra': torch.ones(1)}
    report = load_checked(model, state, source='ckpt.pth')
    assert report.missing == ['1.bias', '1.weight'] and report.unexpected == ['extra']
    assert sorted(report.loaded) == ['0.bias', '0.weight']
    assert torch.equal(model[0].weight, state['0.weight'])
    with pytest.raises(CheckpointMismatchError) as err:
        load_checked(model, state, source='ckpt.pth', strict=True)
    assert isinstance(err.value, KeyError) and isinstance(err.value, ValueError)
    msg = str(err.value)
    assert 'ckpt.pth' in msg and "2 missing keys ['1.bias', '1.weight']" in msg
    assert "1 unexpected keys ['extra']" in msg
    wide = {'0.weight': torch.ones(4, 3)}
    with pytest.raises(ValueError, match=r'ckpt\.pth[\s\S]*0\.weight: \(4, 3\) in the checkpoint '
                                         r'vs \(2, 3\) in the model'):
        load_checked(model, wide, source='ckpt.pth')
    with pytest.raises(KeyError, match=r'lacks 1 of the 2 tensors of `1`'):
        load_checked(model, state | {'1.weight': torch.ones(1, 2)}, source='ckpt.pth',
                     required=('1', ))
    with pytest.raises(KeyError, match='none of the 1 tensors of ckpt.pth fits'):
        load_checked(model, {'other': torch.ones(1)}, source='ckpt.pth')
    # ignored prefixes are compared on neither side
    full = {k: v.clone() for k, v in model.state_dict().items()}
    load_checked(model, full | {'pre.mean': torch.ones(1)}, strict=True, ignore=('pre.', ))


# --------------------------------------------------------------------------- position codes
def _sub_grid_rows(pos, old_grid, new_grid):
    """Rows of ``pos`` (CLS first) at the leading positions of ``new_grid``, by index arithmetic."""
    rows = [pos[0, 0]]
    strides = [math.prod(old_grid[i + 1:]) for i in range(len(old_grid))]
    for index in np.ndindex(*new_grid):
        rows.append(pos[0, 1 + sum(i * s for i, s in zip(index, strides))])
    return torch.stack(rows).unsqueeze(0)


def _keys(x, a=-0.75):
    x = abs(x)
    if x <= 1:
        return ((a + 2) * x - (a + 3)) * x * x + 1
    if x < 2:
        return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return 0.


def _resample_matrix(n_in, n_out, kind):
    """(n_out, n_in) weights of 1-D bicubic / linear resampling, half-pixel centres."""
    m = np.zeros((n_out, n_in))
    for i in range(n_out):
        src = (i + 0.5) * n_in / n_out - 0.5
        if kind == 'linear':
            src = max(src, 0.)
            j = int(np.floor(src))
            frac = src - j
            m[i, min(j, n_in - 1)] += 1 - frac
            m[i, min(j + 1, n_in - 1)] += frac
        else:
            j = int(np.floor(src))
            for k in range(j - 1, j + 3):
                m[i, min(max(k, 0), n_in - 1)] += _keys(src - k)
    return m


def test_audio_example_of_the_issue_crops_the_frequency_axis_on_the_grid(tmp_path):
    """Issue 10: (1024, 128) checkpoint (64 t x 8 f) into a 64-mel encoder (64 t x 4 f)."""
    src = AudioViT('tiny', input_size=(1024, 128))
    pos = random_pos(1 + 64 * 8)
    state = {f'audio_backbone.{k}': v for k, v in src.state_dict().items()}
    state['audio_backbone.pos_embed'] = pos
    path = tmp_path / 'mavil_as2m.pth'
    torch.save({'state_dict': state}, path)
    model = AudioViT('tiny', input_size=(1024, 64), init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='audio_backbone.', crop_pos_embed=True))
    model.init_weights()
    grid = pos[0, 1:].reshape(64, 8, D)  # time-major tokens: row 1 + t * 8 + f
    want = torch.cat([pos[:, :1], grid[:, :4].reshape(1, 64 * 4, D)], dim=1)
    assert torch.equal(model.pos_embed, want)
    assert torch.equal(model.pos_embed, _sub_grid_rows(pos, (64, 8), (64, 4)))
    # token (t=1, f=0) gets checkpoint position (t=1, f=0), not the flattened row (t=0, f=4)
    assert torch.equal(model.pos_embed[0, 1 + 4], pos[0, 1 + 8])
    assert not torch.equal(model.pos_embed[0, 1 + 4], pos[0, 1 + 4])
    assert torch.equal(model.blocks[1].attn.qkv.weight, src.blocks[1].attn.qkv.weight)
    # without an adaptation mode another grid is refused, naming both grids
    strict = AudioViT('tiny', input_size=(1024, 64), init_cfg=dict(
        type='Pretrained', checkpoint=str(path), prefix='audio_backbone.'))
    with pytest.raises(ValueError, match=r'grid \(64, 8\), the model has \(64, 4\)'):
        strict.init_weights()


def test_sin_cos_code_cropped_is_the_code_of_the_smaller_grid(tmp_path):
    """The fixed code depends on the position only, so a crop equals the fresh small code."""
    src = AudioViT('tiny', input_size=(1024, 128))
    torch.save({'model': src.state_dict()}, tmp_path / 'c.pth')
    model = AudioViT('tiny', input_size=(512, 64), init_cfg=dict(
        type='Pretrained', checkpoint=str(tmp_path / 'c.pth'), adapt_pos_embed='crop'))
    fresh = model.pos_embed.clone()
    model.init_weights()
    assert torch.allclose(model.pos_embed, fresh, atol=1e-6)


def test_audio_interpolation_crops_time_and_resamples_frequency_bicubically():
    pos = random_pos(1 + 6 * 8, seed=1)
    out = adapt_pos_embed(pos, (6, 8), (4, 5), mode='interpolate')
    grid = pos[0, 1:].reshape(6, 8, D)[:4].double().numpy()  # shorter time: cropped
    want = np.einsum('fg,tgd->tfd', _resample_matrix(8, 5, 'cubic'), grid)
    assert out.shape == (1, 1 + 20, D)
    assert torch.equal(out[0, 0], pos[0, 0])  # CLS kept
    np.testing.assert_allclose(out[0, 1:].reshape(4, 5, D).numpy(), want, atol=1e-5)
    # longer time is interpolated too; the same grid is returned unchanged
    longer = adapt_pos_embed(pos, (6, 8), (9, 8), mode='interpolate')
    want = np.einsum('ts,sfd->tfd', _resample_matrix(6, 9, 'cubic'),
                     pos[0, 1:].reshape(6, 8, D).double().numpy())
    np.testing.assert_allclose(longer[0, 1:].reshape(9, 8, D).numpy(), want, atol=1e-5)
    assert adapt_pos_embed(pos, (6, 8), (6, 8), mode='interpolate') is pos


def test_crop_refuses_a_longer_axis_naming_both_grids():
    pos = random_pos(1 + 6 * 8)
    with pytest.raises(ValueError, match=r'\(6, 8\).*\(7, 8\)'):
        adapt_pos_embed(pos, (6, 8), (7, 8), mode='crop')
    with pytest.raises(ValueError, match=r'does not hold the grid \(5, 8\)'):
        adapt_pos_embed(pos, (5, 8), (4, 8))


def test_video_crop_and_interpolation_on_the_time_height_width_grid(tmp_path):
    src = VideoViT('tiny', input_size=(8, 48, 48))  # grid 4 x 3 x 3
    pos = random_pos(1 + 4 * 3 * 3, seed=2)
    sd = dict(src.state_dict(), pos_embed=pos)
    torch.save({'state_dict': sd}, tmp_path / 'v.pth')
    model = VideoViT('tiny', input_size=(4, 32, 32), init_cfg=dict(  # grid 2 x 2 x 2
        type='Pretrained', checkpoint=str(tmp_path / 'v.pth'), adapt_pos_embed='crop',
        checkpoint_grid=(4, 3, 3)))
    model.init_weights()
    assert torch.equal(model.pos_embed, _sub_grid_rows(pos, (4, 3, 3), (2, 2, 2)))
    assert torch.equal(model.pos_embed[0, 1 + 4], pos[0, 1 + 9])  # (t=1, h=0, w=0)

    out = adapt_pos_embed(pos, (4, 3, 3), (2, 2, 2), mode='interpolate')
    cubic = _resample_matrix(3, 2, 'cubic')
    grid = pos[0, 1:].reshape(4, 3, 3, D)[:2].double().numpy()
    want = np.einsum('hi,wj,tijd->thwd', cubic, cubic, grid)
    assert torch.equal(out[0, 0], pos[0, 0])
    np.testing.assert_allclose(out[0, 1:].reshape(2, 2, 2, D).numpy(), want, atol=1e-5)
    # longer time: bicubic in space per time step, then linear in time
    out = adapt_pos_embed(pos, (4, 3, 3), (6, 3, 3), mode='interpolate')
    want = np.einsum('ts,shwd->thwd', _resample_matrix(4, 6, 'linear'),
                     pos[0, 1:].reshape(4, 3, 3, D).double().numpy())
    np.testing.assert_allclose(out[0, 1:].reshape(6, 3, 3, D).numpy(), want, atol=1e-5)


def test_linear_reference_matches_hand_values():
    # 2 -> 4 with half-pixel centres: sources -0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
    np.testing.assert_allclose(_resample_matrix(2, 4, 'linear'),
                               [[1, 0], [.75, .25], [.25, .75], [0, 1]])


# --------------------------------------------------------------------------- one path
def test_pretrained_with_prefix_takes_one_path_under_every_parent(tmp_path):
    """Standalone, in an AVClassifier and in an AVRetriever: the same weights, the same errors."""
    register_all_modules()
    audio = dict(type='AudioViT', arch='tiny', input_size=(160, 64))  # grid 10 x 4
    video = dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32))
    long_audio = MODELS.build(dict(audio, input_size=(320, 64)))      # grid 20 x 4
    fusion = MODELS.build(dict(type='VanillaFusion', num_layers=1, embed_dims=D, num_heads=4))
    state = {f'audio_backbone.{k}': v for k, v in long_audio.state_dict().items()}
    state['audio_backbone.pos_embed'] = random_pos(1 + 20 * 4, seed=4)
    state.update({f'video_backbone.{k}': v for k, v in MODELS.build(video).state_dict().items()})
    state.update({f'fusion.{k}': v for k, v in fusion.state_dict().items()})
    path = tmp_path / 'mavil.pth'
    torch.save({'state_dict': state}, path)

    def init(prefix, **extra):
        return dict(type='Pretrained', checkpoint=str(path), prefix=prefix, **extra)

    want_pos = _sub_grid_rows(state['audio_backbone.pos_embed'], (20, 4), (10, 4))
    a_cfg = dict(audio, init_cfg=init('audio_backbone', adapt_pos_embed='crop'))
    standalone = MODELS.build(a_cfg)
    classifier = MODELS.build(dict(
        type='AVClassifier', modality='audio_video', audio_backbone=a_cfg,
        video_backbone=dict(video, init_cfg=init('video_backbone.')),
        fusion=dict(type='VanillaFusion', num_layers=1, init_cfg=init('fusion.')),
        head=dict(type='AVClsHead', num_classes=3)))
    retriever = MODELS.build(dict(type='AVRetriever', audio_backbone=a_cfg,
                                  video_backbone=dict(video, init_cfg=init('video_backbone'))))
    standalone.init_weights()
    classifier.init_weights()
    retriever.init_weights()
    for encoder in (standalone, classifier.audio_backbone, retriever.audio_backbone):
        assert torch.equal(encoder.pos_embed, want_pos)
        assert torch.equal(encoder.blocks[0].mlp.fc1.weight, long_audio.blocks[0].mlp.fc1.weight)
    # A non-ViT part takes the same path. The classifier's fusion has no final norms (global
    # pooling with fc_norm), so the checkpoint's norm_* tensors are the only ones it leaves out.
    loaded = classifier.fusion.state_dict()
    assert loaded and set(fusion.state_dict()) - set(loaded) <= {
        k for k in fusion.state_dict() if k.startswith('norm')}
    for k, v in loaded.items():
        assert torch.equal(v, fusion.state_dict()[k]), k
    messages = []
    for parent in ('standalone', 'classifier'):
        cfg = dict(audio, init_cfg=init('neck'))
        model = MODELS.build(cfg) if parent == 'standalone' else MODELS.build(dict(
            type='AVClassifier', modality='audio', audio_backbone=cfg,
            head=dict(type='AVClsHead', num_classes=3)))
        with pytest.raises(CheckpointMismatchError) as err:
            model.init_weights()
        messages.append(str(err.value))
    assert messages[0] == messages[1] and 'mavil.pth' in messages[0]


def test_vit_layer_depth_for_layer_decay():
    model = AudioViT('tiny', input_size=(64, 32))  # 2 blocks -> 4 depths
    assert model.get_layer_depth('cls_token') == (0, 4)
    assert model.get_layer_depth('audio_backbone.patch_embed.proj.weight',
                                 'audio_backbone.') == (0, 4)
    assert model.get_layer_depth('pos_embed') == (0, 4)
    assert model.get_layer_depth('blocks.0.norm1.weight') == (1, 4)
    assert model.get_layer_depth('blocks.1.mlp.fc2.bias') == (2, 4)
    assert model.get_layer_depth('norm.weight') == (3, 4)
