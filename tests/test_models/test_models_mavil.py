"""The MAViL algorithm: Eq. 4 wiring, views, gradients, parameter counts (real losses)."""
import math
from unittest import mock

import numpy as np
import pytest
import torch

from mavilkit.models import MAViL
from mavilkit.models.utils import patchify, random_masking
from mavilkit.registry import MODELS

A_SIZE, V_SIZE = (64, 32), (4, 32, 32)  # 8 audio and 8 video tokens


def tiny_mavil(**kwargs):
    cfg = dict(
        type='MAViL',
        audio_backbone=dict(type='AudioViT', arch='tiny', input_size=A_SIZE),
        video_backbone=dict(type='VideoViT', arch='tiny', input_size=V_SIZE),
        neck=dict(type='VanillaFusion', num_layers=1),
        audio_decoder=dict(type='MAEDecoder', embed_dims=32, num_layers=1, num_heads=2),
        video_decoder=dict(type='MAEDecoder', embed_dims=32, num_layers=1, num_heads=2),
        mask_ratio=0.5,
        data_preprocessor=None)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def tiny_inputs(B=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(audio=torch.randn(B, 1, *A_SIZE, generator=g),
                video=torch.randn(B, 3, *V_SIZE, generator=g))


def infonce(x, y, tau):
    """Eq. 2 written out: -1/B sum_i log exp(S_ii/tau) / sum_j exp(S_ij/tau)."""
    s = (x / x.norm(dim=1, keepdim=True)) @ (y / y.norm(dim=1, keepdim=True)).t() / tau
    return -(s.diag() - s.exp().sum(1).log()).mean()


def masked_mse(pred, target, mask):
    return (((pred - target)**2).mean(-1) * mask).sum() / mask.sum()


def test_defaults_follow_the_paper():
    model = tiny_mavil(mask_ratio=0.8)
    assert model.inter_weight == 0.1 and model.intra_weight == 0.01 and model.mask_ratio == 0.8
    assert model.inter_loss.temperature == 0.1 and model.intra_loss.temperature == 1.0
    assert type(model.rec_loss).__name__ == 'MaskedReconstructionLoss'
    assert type(model.target_generator).__name__ == 'RawTarget'
    assert not model.target_generator.norm_pix
    # decoder geometry from the backbones and the target generator
    assert model.audio_decoder.head.out_features == 16 * 16
    assert model.video_decoder.head.out_features == 2 * 16 * 16 * 3
    assert model.audio_decoder.grid_size == (4, 2) and model.video_decoder.grid_size == (2, 2, 2)
    assert model.neck.embed_dims == 64 and model.neck.blocks[0].attn.num_heads == 4
    defaults = MAViL.__init__.__defaults__
    assert dict(type='VanillaFusion', num_layers=2) in defaults


@pytest.mark.parametrize('alpha,beta', [(None, None), (0.5, 0.2)])
def test_loss_is_eq4_with_raw_targets(alpha, beta):
    """Recompute every term from the parts, with the same random masks (seeded). α and β are
    ``inter_weight`` / ``intra_weight`` (defaults 0.1 / 0.01), the only weights of the terms."""
    weights = {} if alpha is None else dict(inter_weight=alpha, intra_weight=beta)
    alpha, beta = (0.1, 0.01) if alpha is None else (alpha, beta)
    model = tiny_mavil(**weights)
    x = tiny_inputs()
    torch.manual_seed(3)
    losses = model(x, mode='loss')
    assert {k for k in losses if 'loss' in k} == {
        'loss_rec_audio', 'loss_rec_video', 'loss_inter', 'loss_intra'}
    assert {'acc_inter', 'acc_intra_audio', 'acc_intra_video'} <= set(losses)

    torch.manual_seed(3)  # same draw order: audio mask, then video mask
    ma = random_masking(4, 8, 0.5, second_view=True)
    mv = random_masking(4, 8, 0.5, second_view=True)
    with torch.no_grad():
        a_um = model.audio_backbone(x['audio'], ma.ids_keep)
        v_um = model.video_backbone(x['video'], mv.ids_keep)
        a2 = model.audio_backbone(x['audio'], ma.ids_keep_second)[:, 1:].mean(1)
        v2 = model.video_backbone(x['video'], mv.ids_keep_second)[:, 1:].mean(1)
        a_mm, v_mm = model.neck(a_um, v_um)
        pa = model.audio_decoder(a_mm, ma.ids_restore)
        pv = model.video_decoder(v_mm, mv.ids_restore)
    a_emb, v_emb = a_um[:, 1:].mean(1), v_um[:, 1:].mean(1)  # CLS excluded, not fused
    expected = dict(
        loss_rec_audio=masked_mse(pa, patchify(x['audio'], (16, 16)), ma.mask),
        loss_rec_video=masked_mse(pv, patchify(x['video'], (2, 16, 16)), mv.mask),
        loss_inter=alpha * infonce(a_emb, v_emb, 0.1),
        loss_intra=beta * 0.5 * (infonce(a_emb, a2, 1.0) + infonce(v_emb, v2, 1.0)))
    for key, value in expected.items():
        assert torch.allclose(losses[key], value, atol=1e-5), key


def test_zero_weight_turns_terms_off_and_skips_second_view():
    model = tiny_mavil(inter_weight=0., intra_weight=0.)
    assert model.inter_loss is None and model.intra_loss is None
    seen = []
    model.audio_backbone.blocks[0].register_forward_hook(
        lambda m, i, o: seen.append(tuple(i[0].shape)))
    losses = model(tiny_inputs(), mode='loss')
    assert set(losses) == {'loss_rec_audio', 'loss_rec_video'}
    assert seen == [(4, 1 + 4, 64)]


def test_second_view_is_one_extra_pass_over_the_visible_count():
    model = tiny_mavil(mask_ratio=0.75)  # 2 visible of 8
    seen = []
    for backbone in (model.audio_backbone, model.video_backbone):
        backbone.blocks[0].register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
    model(tiny_inputs(), mode='loss')
    # one encoder call per modality: both views stacked (2B), L + CLS tokens, never all 8
    assert seen == [(8, 3, 64), (8, 3, 64)]


def test_reconstruction_ignores_visible_predictions():
    model = tiny_mavil(inter_weight=0., intra_weight=0.)
    captured = {}

    def keep(m, i, o):
        o.retain_grad()
        captured['pred'] = o

    model.audio_decoder.register_forward_hook(keep)
    torch.manual_seed(1)
    losses = model(tiny_inputs(), mode='loss')
    losses['loss_rec_audio'].backward()
    torch.manual_seed(1)
    mask = random_masking(4, 8, 0.5).mask
    grad = captured['pred'].grad.abs().sum(-1)
    assert grad[mask == 0].max() == 0 and (grad[mask == 1] > 0).all()


@pytest.mark.parametrize('neck', [dict(type='VanillaFusion', num_layers=1),
                                  dict(type='MBTFusion', num_layers=1)])
def test_gradients_reach_every_trainable_part(neck):
    model = tiny_mavil(neck=neck)
    losses = model(tiny_inputs(), mode='loss')
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)]
    assert not missing


def test_identity_neck_is_uni_modal():
    model = tiny_mavil(neck=dict(type='IdentityFusion'), inter_weight=0., intra_weight=0.)
    x = tiny_inputs()
    torch.manual_seed(0)
    out = model(x, mode='tensor')
    x2 = dict(audio=x['audio'], video=x['video'] + 1)
    torch.manual_seed(0)
    assert torch.equal(model(x2, mode='tensor')['audio_pred'], out['audio_pred'])


def test_tensor_mode_and_extract_feat():
    model = tiny_mavil()
    x = tiny_inputs(B=2)
    out = model(x, mode='tensor')
    assert out['audio_pred'].shape == (2, 8, 256) and out['video_pred'].shape == (2, 8, 1536)
    assert out['audio_mask'].shape == (2, 8) and out['audio_mask'].sum() == 8
    assert torch.equal(out['video_target'], patchify(x['video'], (2, 16, 16)))
    feats = model.extract_feat(x)
    assert {k: tuple(v.shape) for k, v in feats.items()} == {
        'audio_uni': (2, 8, 64), 'video_uni': (2, 8, 64), 'audio_fused': (2, 8, 64),
        'video_fused': (2, 8, 64)}
    assert torch.allclose(feats['audio_uni'], model.audio_backbone(x['audio'])[:, 1:])
    with pytest.raises(KeyError, match='"audio" and "video"'):
        model(dict(audio=x['audio']), mode='loss')
    with pytest.raises(RuntimeError, match='"loss" or "tensor"'):
        model(x, mode='predict')


def test_with_cp_gives_same_loss():
    a, b = tiny_mavil(), tiny_mavil(with_cp=True)
    b.load_state_dict(a.state_dict())
    assert b.audio_backbone.with_cp and b.neck.with_cp and b.video_decoder.with_cp
    x = tiny_inputs()
    torch.manual_seed(0)
    la = a(x, mode='loss')
    torch.manual_seed(0)
    lb = b(x, mode='loss')
    for k in la:
        assert torch.allclose(la[k], lb[k], atol=1e-5), k


def test_masking_ratio_errors():
    # checked when the model is built, not at the first batch: 2 x round(8 * 0.6) = 10 > 8
    with pytest.raises(ValueError, match='mask_ratio >= 0.5'):
        tiny_mavil(mask_ratio=0.4)
    with pytest.raises(ValueError, match='no visible'):
        tiny_mavil(mask_ratio=0.95, intra_weight=0.)  # round(8 * 0.05) = 0
    tiny_mavil(mask_ratio=0.4, intra_weight=0.)(tiny_inputs(), mode='loss')


def _norm_pix(p, eps=1e-6):
    """MAE's norm_pix_loss target by hand: per patch, unbiased variance."""
    return (p - p.mean(-1, keepdim=True)) / (p.var(-1, keepdim=True) + eps)**.5


def test_reconstruct_turns_perfect_predictions_back_into_the_inputs():
    """A decoder that predicts the raw targets exactly must give back the input, in its layout;
    the mask covers whole patches, as many as the masking removed; the model is unchanged."""
    model = tiny_mavil(target_generator=dict(type='RawTarget', norm_pix=False)).eval()
    x = tiny_inputs(B=2)
    sizes = dict(audio=(16, 16), video=(2, 16, 16))
    perfect = {m: patchify(x[m], sizes[m]) for m in sizes}
    with mock.patch.object(model.audio_decoder, 'forward', return_value=perfect['audio']), \
            mock.patch.object(model.video_decoder, 'forward', return_value=perfect['video']):
        recs = model.reconstruct(x, mask_ratio=0.75)
    assert model.mask_ratio == 0.5
    for m in sizes:
        rec = recs[m]
        assert rec.original.shape == rec.reconstruction.shape == rec.mask.shape == x[m].shape
        torch.testing.assert_close(rec.original, x[m])
        torch.testing.assert_close(rec.reconstruction, x[m], rtol=1e-5, atol=1e-5)
        per_patch = patchify(rec.mask.float(), sizes[m])  # each patch all removed or all kept
        assert torch.equal(per_patch.amin(-1), per_patch.amax(-1))
        assert per_patch[..., 0].sum(1).tolist() == [6, 6]  # 8 - round(8 * 0.25)


def test_norm_pix_reconstruction_uses_only_the_visible_patches_statistics():
    """norm_pix predictions are drawn with statistics the model was shown: a visible patch its
    own mean / std, a removed patch the mean of the visible patches' means and the root of the
    mean of their (unbiased) variances + eps. Checked patch by patch against numpy, on random
    predictions; changing the removed patches' input must not change the drawing."""
    eps = 1e-6
    model = tiny_mavil(target_generator=dict(type='RawTarget', norm_pix=True)).eval()
    x = tiny_inputs(B=2)
    sizes = dict(audio=(16, 16), video=(2, 16, 16))
    g = torch.Generator().manual_seed(3)
    preds = {m: torch.randn(2, 8, int(torch.tensor(sizes[m]).prod()) * x[m].shape[1],
                            generator=g) for m in sizes}
    torch.manual_seed(5)
    with mock.patch.object(model.audio_decoder, 'forward', return_value=preds['audio']), \
            mock.patch.object(model.video_decoder, 'forward', return_value=preds['video']):
        recs = model.reconstruct(x, mask_ratio=0.75)
    for m in sizes:
        patches = patchify(x[m], sizes[m]).double().numpy()
        removed = patchify(recs[m].mask.float(), sizes[m])[..., 0].bool().numpy()
        got = patchify(recs[m].reconstruction, sizes[m]).double().numpy()
        pred = preds[m].double().numpy()
        for b in range(2):
            vis = [i for i in range(8) if not removed[b, i]]
            assert len(vis) == 2
            means = [float(np.mean(patches[b, i])) for i in vis]
            variances = [float(np.var(patches[b, i], ddof=1)) for i in vis]
            for i in range(8):
                if removed[b, i]:
                    mean, std = np.mean(means), np.sqrt(np.mean(variances) + eps)
                else:
                    mean = np.mean(patches[b, i])
                    std = np.sqrt(np.var(patches[b, i], ddof=1) + eps)
                np.testing.assert_allclose(got[b, i], pred[b, i] * std + mean, rtol=1e-4,
                                           atol=1e-4)
        # the removed patches' own values play no part
        x_other = dict(x)
        x_other[m] = x[m] + 5 * recs[m].mask.float()
        other = model.target_generator.invert(
            {m: preds[m]}, x_other,
            {m: torch.from_numpy(removed)})[m]
        torch.testing.assert_close(other, patchify(recs[m].reconstruction, sizes[m]))
    with pytest.raises(ValueError, match='need its mask'):
        model.target_generator.invert({'audio': preds['audio']}, x)


def test_reconstruct_needs_input_space_targets_and_a_valid_ratio():
    model = tiny_mavil()
    with pytest.raises(ValueError, match=r'\(0, 1\)'):
        model.reconstruct(tiny_inputs(B=1), mask_ratio=1.0)
    model.target_generator.target_space = 'feature'  # as a stage-2 teacher declares
    with pytest.raises(ValueError, match='feature-space targets'):
        model.reconstruct(tiny_inputs(B=1))


def _block(d):
    return 12 * d * d + 13 * d  # qkv, proj, fc1, fc2 (weights + biases) and two LayerNorms


def test_vit_b_parameter_counts_against_formula_and_paper():
    """Counts from the ViT formula, then the paper's 164M (encoders) and 27M (decoder).

    Formula (D=768, 12 blocks): audio 85.25M, video 86.24M, 2 fusion blocks 14.18M -> 185.7M;
    decoders 25.74M (audio) and 26.39M (video). The paper's 27M matches one decoder (within 5 %).
    Its 164M lies 4.6 % below the two uni-modal encoders alone (171.5M) and 12 % below them with
    the fusion blocks; the paper does not say what it counted, so the check allows 15 %.
    """
    model = MAViL(audio_backbone=dict(type='AudioViT'), video_backbone=dict(type='VideoViT'),
                  data_preprocessor=None)

    def count(m):
        return sum(p.numel() for p in m.parameters())

    D, E = 768, 512
    audio = 16 * 16 * D + D + D + 12 * _block(D) + 2 * D
    video = 2 * 16 * 16 * 3 * D + D + D + 12 * _block(D) + 2 * D
    fusion = 2 * _block(D) + 4 * D
    assert count(model.audio_backbone) == audio
    assert count(model.video_backbone) == video
    assert count(model.neck) == fusion

    def decoder(out):
        return D * E + E + E + 8 * _block(E) + 2 * E + E * out + out

    assert count(model.audio_decoder) == decoder(256)
    assert count(model.video_decoder) == decoder(1536)
    encoders = audio + video + fusion
    print(f'encoders {encoders / 1e6:.2f}M (paper 164M), decoders '
          f'{decoder(256) / 1e6:.2f}M + {decoder(1536) / 1e6:.2f}M (paper 27M)')
    assert math.isclose(encoders, 164e6, rel_tol=0.15)
    assert math.isclose(decoder(256), 27e6, rel_tol=0.05)
    assert math.isclose(decoder(1536), 27e6, rel_tol=0.05)
    assert count(model) == encoders + decoder(256) + decoder(1536)


def test_default_data_preprocessor_is_built_from_mavilkit_registry():
    model = tiny_mavil(data_preprocessor=dict(type='AVDataPreprocessor'))
    assert type(model.data_preprocessor).__name__ == 'AVDataPreprocessor'


def test_with_cp_gives_the_same_gradients():
    a, b = tiny_mavil(), tiny_mavil(with_cp=True)
    b.load_state_dict(a.state_dict())
    x = tiny_inputs()
    for model in (a, b):
        torch.manual_seed(0)
        losses = model(x, mode='loss')
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    grads_b = dict(b.named_parameters())
    for name, p in a.named_parameters():
        assert p.grad is not None, name
        assert torch.allclose(p.grad, grads_b[name].grad, atol=1e-5, rtol=1e-4), name


def test_bf16_autocast_step_keeps_float32_losses():
    """As under ``AmpOptimWrapper(dtype='bfloat16')``: losses in float32, close to fp32 ones."""
    model, x = tiny_mavil(), tiny_inputs()
    torch.manual_seed(0)
    ref = model(x, mode='loss')
    torch.manual_seed(0)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x, mode='loss')
    sum(v for k, v in out.items() if k.startswith('loss')).backward()
    for key, value in out.items():
        assert value.dtype == torch.float32, key
    for key in ('loss_rec_audio', 'loss_rec_video', 'loss_inter', 'loss_intra'):
        assert torch.allclose(out[key], ref[key], rtol=0.05), key
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_vit_l_mavil_builds_on_the_meta_device():
    with torch.device('meta'):
        model = MAViL(audio_backbone=dict(type='AudioViT', arch='l'),
                      video_backbone=dict(type='VideoViT', arch='l'),
                      neck=dict(type='MBTFusion', num_layers=2), data_preprocessor=None)
    assert all(p.is_meta for p in model.parameters())
    assert model.neck.blocks[0].attn.num_heads == 16 and model.audio_decoder.num_patches == 512
