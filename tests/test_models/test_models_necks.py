"""Fusion necks (vanilla, MBT, none) and the MAE decoder."""
import pytest
import torch
import torch.nn as nn

from mavilkit.models import IdentityFusion, MAEDecoder, MBTFusion, VanillaFusion
from mavilkit.models.utils import get_sincos_pos_embed, random_masking
from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules


class _AddTokenMean(nn.Module):
    """A stand-in block whose effect is easy to write out: x_i + mean_j x_j."""

    def forward(self, x):
        return x + x.mean(dim=1, keepdim=True)


def test_mbt_update_against_hand_computation():
    fusion = MBTFusion(num_layers=2, num_bottlenecks=2, embed_dims=16, num_heads=2)
    fusion.blocks = nn.ModuleList([_AddTokenMean(), _AddTokenMean()])
    fusion.norm_audio = fusion.norm_video = nn.Identity()
    fusion.bottleneck.data = torch.tensor([[[1.] * 16, [3.] * 16]])
    a = torch.tensor([[[2.] * 16]])  # 1 audio token
    v = torch.tensor([[[4.] * 16, [6.] * 16]])  # 2 video tokens
    # layer 1: a‖b = [2, 1, 3], mean 2 -> [4, 3, 5]; v‖b = [4, 6, 1, 3], mean 3.5 ->
    # [7.5, 9.5, 4.5, 6.5]; b <- ([3, 5] + [4.5, 6.5]) / 2 = [3.75, 5.75]
    # layer 2: a‖b = [4, 3.75, 5.75], mean 4.5 -> a = 8.5
    #          v‖b = [7.5, 9.5, 3.75, 5.75], mean 6.625 -> v = [14.125, 16.125]
    out_a, out_v = fusion(a, v)
    assert out_a[0, :, 0].tolist() == pytest.approx([8.5])
    assert out_v[0, :, 0].tolist() == pytest.approx([14.125, 16.125])


def test_mbt_defaults_and_cross_modal_flow():
    fusion = MBTFusion(embed_dims=32, num_heads=4)
    assert fusion.num_layers == 2 and fusion.num_bottlenecks == 4
    assert fusion.bottleneck.shape == (1, 4, 32)
    a, v = torch.randn(2, 5, 32), torch.randn(2, 7, 32)
    out_a, out_v = fusion(a, v)
    assert out_a.shape == a.shape and out_v.shape == v.shape
    # information crosses only through the bottleneck, but it does cross
    assert not torch.allclose(fusion(a, v + 1)[0], out_a)


def test_vanilla_fusion_is_blocks_over_concatenation():
    torch.manual_seed(0)
    fusion = VanillaFusion(embed_dims=32, num_heads=4)
    assert fusion.num_layers == 2 and len(fusion.blocks) == 2
    a, v = torch.randn(2, 3, 32), torch.randn(2, 4, 32)
    x = torch.cat([a, v], 1)
    for block in fusion.blocks:
        x = block(x)
    out_a, out_v = fusion(a, v)
    assert torch.allclose(out_a, fusion.norm_audio(x[:, :3]), atol=1e-6)
    assert torch.allclose(out_v, fusion.norm_video(x[:, 3:]), atol=1e-6)
    assert len(VanillaFusion(num_layers=4, embed_dims=32, num_heads=4).blocks) == 4


def test_identity_fusion():
    a, v = torch.randn(1, 2, 8), torch.randn(1, 3, 8)
    out_a, out_v = IdentityFusion()(a, v)
    assert out_a is a and out_v is v


def test_decoder_defaults():
    dec = MAEDecoder(grid_size=(64, 8))
    assert len(dec.blocks) == 8 and dec.embed_dims == 512
    assert dec.blocks[0].attn.num_heads == 16
    assert dec.head.out_features == 256 and dec.decoder_embed.in_features == 768


def test_decoder_restores_order_with_mask_tokens():
    """With no blocks, output n = head(norm(proj(x_j) + pos_n)) if n = ids_keep[j], else
    head(norm(mask + pos_n))."""
    torch.manual_seed(0)
    dec = MAEDecoder(grid_size=(2, 2, 2), in_dims=12, out_dims=5, embed_dims=16, num_layers=0,
                     num_heads=2)
    info = random_masking(2, 8, 0.75)  # 2 visible
    x = torch.randn(2, 3, 12)
    out = dec(x, info.ids_restore)
    assert out.shape == (2, 8, 5)
    pos = get_sincos_pos_embed(16, (2, 2, 2))  # no CLS row
    for b in range(2):
        keep = info.ids_keep[b].tolist()
        for n in range(8):
            token = (dec.decoder_embed(x[b, 1 + keep.index(n)]) if n in keep else
                     dec.mask_token[0, 0])
            expected = dec.head(dec.norm(token + pos[n]))
            assert torch.allclose(out[b, n], expected, atol=1e-5)
    with pytest.raises(ValueError, match='do not fit'):
        dec(x, info.ids_restore[:, :4])


@pytest.mark.parametrize('owner', ['MAViL', 'AVClassifier', 'AVRetriever'])
def test_fusion_widths_follow_the_encoders_in_every_model(owner):
    """One rule for MAViL, the A+V classifier and the retriever: the neck takes the audio
    encoder's width and heads unless its config says otherwise; widths that differ raise."""
    register_all_modules()
    audio = dict(type='AudioViT', arch=dict(embed_dims=32, num_layers=1, num_heads=2),
                 input_size=(32, 32))
    video = dict(type='VideoViT', arch=dict(embed_dims=32, num_layers=1, num_heads=2),
                 input_size=(2, 32, 32))
    neck = dict(type='MBTFusion', num_layers=1)
    cfgs = dict(
        MAViL=dict(type='MAViL', audio_backbone=audio, video_backbone=video, neck=neck,
                   audio_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1,
                                      num_heads=2),
                   video_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1,
                                      num_heads=2), data_preprocessor=None),
        AVClassifier=dict(type='AVClassifier', modality='audio_video', audio_backbone=audio,
                          video_backbone=video, fusion=neck,
                          head=dict(type='AVClsHead', num_classes=3)),
        AVRetriever=dict(type='AVRetriever', audio_backbone=audio, video_backbone=video,
                         neck=neck))
    key = dict(MAViL='neck', AVClassifier='fusion', AVRetriever='neck')[owner]
    model = MODELS.build(cfgs[owner])
    fusion = getattr(model, key)
    assert fusion.bottleneck.shape[-1] == 32 and fusion.blocks[0].attn.num_heads == 2
    model = MODELS.build({**cfgs[owner], key: dict(neck, num_heads=4)})
    assert getattr(model, key).blocks[0].attn.num_heads == 4  # a given value is kept
    wide = dict(video, arch=dict(embed_dims=48, num_layers=1, num_heads=2))
    # the retriever compares the two embeddings, so it checks their sizes before the neck
    message = 'audio and video embeddings must have the same size' if owner == 'AVRetriever' else \
        'MBTFusion fuses tokens of one width'
    with pytest.raises(ValueError, match=f'{owner}: {message}'):
        MODELS.build({**cfgs[owner], 'video_backbone': wide})
