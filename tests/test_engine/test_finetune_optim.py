"""The fine-tuning optimizer constructor: ×0.5 video lr group, layer decay, no-decay params."""
import pytest
from mmengine.optim import build_optim_wrapper

from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules

register_all_modules()

BASE_LR, WD = 1e-3, 0.05


def av_model(final_norm=False):
    return MODELS.build(dict(
        type='AVClassifier', modality='audio_video',
        audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(160, 64),
                            final_norm=final_norm),
        video_backbone=dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32),
                            final_norm=final_norm),
        head=dict(type='AVClsHead', num_classes=5)))


def group_of(wrapper, model):
    by_param = {}
    for group in wrapper.optimizer.param_groups:
        for p in group['params']:
            by_param[p] = group
    return {n: by_param[p] for n, p in model.named_parameters()}


def build(model, **paramwise):
    return build_optim_wrapper(model, dict(
        optimizer=dict(type='AdamW', lr=BASE_LR, betas=(0.9, 0.95), weight_decay=WD),
        constructor='LayerDecayOptimWrapperConstructor', paramwise_cfg=paramwise))


def test_video_encoder_lr_is_halved():
    # §4.3: 50 % lr for the video encoder in A+V fine-tuning
    model = av_model()
    wrapper = build(model, custom_keys={'video_backbone.': dict(lr_mult=0.5)})
    groups = group_of(wrapper, model)
    assert any(g['lr'] == pytest.approx(0.5 * BASE_LR) for g in wrapper.optimizer.param_groups)
    for name, group in groups.items():
        want = 0.5 * BASE_LR if name.startswith('video_backbone.') else BASE_LR
        assert group['lr'] == pytest.approx(want), name
    assert sum(p.numel() for g in wrapper.optimizer.param_groups for p in g['params']) == \
        sum(p.numel() for p in model.parameters())


def test_no_weight_decay_on_norms_biases_and_tokens():
    model = av_model()
    groups = group_of(build(model), model)
    for name, group in groups.items():
        no_decay = name.endswith('.bias') or '.norm' in name or 'norm_' in name \
            or 'cls_token' in name or name.startswith('fc_norm.')
        assert group['weight_decay'] == (0. if no_decay else WD), name
    assert groups['video_backbone.blocks.0.attn.qkv.weight']['weight_decay'] == WD
    assert groups['audio_backbone.cls_token']['weight_decay'] == 0.


def test_layer_wise_decay_scales():
    model = av_model(final_norm=True)  # tiny: 2 blocks per encoder, with the final norm
    rate = 0.5
    groups = group_of(build(model, layer_decay_rate=rate,
                            custom_keys={'video_backbone.': dict(lr_mult=0.5)}), model)
    depth = 2
    # MAE: layer 0 = embeddings, i + 1 = block i, depth + 1 = final norm and everything after
    expected = {
        'audio_backbone.patch_embed.proj.weight': rate**(depth + 1),
        'audio_backbone.cls_token': rate**(depth + 1),
        'audio_backbone.blocks.0.attn.qkv.weight': rate**depth,
        'audio_backbone.blocks.1.mlp.fc1.weight': rate**(depth - 1),
        'audio_backbone.norm.weight': 1.,
        'video_backbone.blocks.0.attn.qkv.weight': 0.5 * rate**depth,
        'fusion.blocks.0.attn.qkv.weight': 1.,
        'head.fc.weight': 1.,
        'fc_norm.weight': 1.,
    }
    for name, scale in expected.items():
        assert groups[name]['lr'] == pytest.approx(BASE_LR * scale), name
        assert groups[name]['lr_scale'] == pytest.approx(scale), name


def test_bad_paramwise_cfg():
    with pytest.raises(KeyError, match='layer_decay'):
        build(av_model(), layer_decay=0.75)
    with pytest.raises(ValueError, match='layer_decay_rate'):
        build(av_model(), layer_decay_rate=1.5)
    with pytest.raises(ValueError, match='backbone_prefixes'):
        build(av_model(), layer_decay_rate=0.75, backbone_prefixes=('encoder', ))
