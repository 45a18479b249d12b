"""Audio / video ViT backbones: presets, token counts, visible-only encoding, checkpoints."""
import pytest
import torch
import torch.nn.functional as F

from mavilkit.models import AudioViT, VideoViT
from mavilkit.models.utils import get_2d_sincos_pos_embed, random_masking
from mavilkit.utils import register_checkpoint_loader


@pytest.mark.parametrize('arch, dims, layers, heads',
                         [('s', 384, 12, 6), ('b', 768, 12, 12), ('l', 1024, 24, 16)])
def test_presets(arch, dims, layers, heads):
    for cls in (AudioViT, VideoViT):
        model = cls(arch=dict(embed_dims=dims, num_layers=1, num_heads=heads)) \
            if arch == 'l' else cls(arch=arch)  # ViT-L shape checked without building 24 layers
        assert (model.embed_dims, model.num_heads) == (dims, heads)
        if arch != 'l':
            assert model.num_layers == len(model.blocks) == layers
    from mavilkit.models.utils import ARCH_ZOO
    assert ARCH_ZOO[arch] == dict(embed_dims=dims, num_layers=layers, num_heads=heads,
                                  mlp_ratio=4.)


def test_vit_b_token_counts_and_visible_encoder_input():
    """512 / 784 tokens; the blocks see 103 x 768 and 158 x 768 at 80 % masking (Appendix B)."""
    audio, video = AudioViT(), VideoViT()
    assert audio.num_patches == 512 and audio.grid_size == (64, 8) and audio.patch_numel == 256
    assert video.num_patches == 784 and video.grid_size == (4, 14, 14)
    assert video.patch_numel == 2 * 16 * 16 * 3
    for model, x in ((audio, torch.randn(1, 1, 1024, 128)),
                     (video, torch.randn(1, 3, 8, 224, 224))):
        seen = []
        model.blocks[0].register_forward_hook(lambda m, i, o: seen.append(tuple(i[0].shape)))
        ids = random_masking(1, model.num_patches, 0.8).ids_keep
        with torch.no_grad():
            out = model(x, ids)
        expected = (1, 103, 768) if model is audio else (1, 158, 768)
        assert seen == [expected] and out.shape == expected


def test_forward_equals_embed_gather_encode_and_tokens_are_independent_of_hidden_ones():
    torch.manual_seed(0)
    model = AudioViT('tiny', input_size=(64, 32)).eval()
    x = torch.randn(2, 1, 64, 32)
    ids = random_masking(2, model.num_patches, 0.75).ids_keep
    out = model(x, ids)
    # changing a hidden patch cannot change the encoding of the visible ones
    hidden = [i for i in range(8) if i not in ids[0].tolist()][0]
    t, f = divmod(hidden, 2)
    x2 = x.clone()
    x2[0, 0, t * 16:(t + 1) * 16, f * 16:(f + 1) * 16] += 5
    assert torch.allclose(model(x2, ids)[0], out[0], atol=1e-6)
    full = model(x)
    assert full.shape == (2, 9, 64)


def test_bad_input_shape_names_expected():
    with pytest.raises(ValueError, match=r'expected input \(B, 3, 4, 32, 32\)'):
        VideoViT('tiny', input_size=(4, 32, 32))(torch.randn(1, 3, 8, 32, 32))
    with pytest.raises(KeyError, match='Unknown ViT arch'):
        AudioViT('huge')


def test_with_cp_same_outputs_and_grads():
    torch.manual_seed(0)
    a = VideoViT('tiny', input_size=(4, 32, 32))
    b = VideoViT('tiny', input_size=(4, 32, 32), with_cp=True)
    b.load_state_dict(a.state_dict())
    x = torch.randn(2, 3, 4, 32, 32)
    ids = random_masking(2, a.num_patches, 0.5).ids_keep
    ya, yb = a(x, ids), b(x, ids)
    ya.pow(2).sum().backward()
    yb.pow(2).sum().backward()
    assert torch.allclose(ya, yb, atol=1e-6)
    assert torch.allclose(a.blocks[0].attn.qkv.weight.grad, b.blocks[0].attn.qkv.weight.grad,
                          atol=1e-6)


def _mae_vit_state_dict(dims=64, layers=2, in_ch=3, grid=(2, 2)):
    """A facebookresearch/mae ``mae_vit`` pre-training state dict with random weights."""
    g = torch.Generator().manual_seed(1)
    sd = {
        'cls_token': torch.randn(1, 1, dims, generator=g),
        'pos_embed': get_2d_sincos_pos_embed(dims, grid, cls_token=True).unsqueeze(0),
        'patch_embed.proj.weight': torch.randn(dims, in_ch, 16, 16, generator=g),
        'patch_embed.proj.bias': torch.randn(dims, generator=g),
        'norm.weight': torch.randn(dims, generator=g),
        'norm.bias': torch.randn(dims, generator=g),
        'mask_token': torch.randn(1, 1, 32, generator=g),
        'decoder_embed.weight': torch.randn(32, dims, generator=g),
        'decoder_pred.weight': torch.randn(16 * 16 * 3, 32, generator=g),
    }
    for i in range(layers):
        for name, shape in (('norm1.weight', (dims, )), ('norm1.bias', (dims, )),
                            ('attn.qkv.weight', (3 * dims, dims)), ('attn.qkv.bias', (3 * dims, )),
                            ('attn.proj.weight', (dims, dims)), ('attn.proj.bias', (dims, )),
                            ('norm2.weight', (dims, )), ('norm2.bias', (dims, )),
                            ('mlp.fc1.weight', (4 * dims, dims)), ('mlp.fc1.bias', (4 * dims, )),
                            ('mlp.fc2.weight', (dims, 4 * dims)), ('mlp.fc2.bias', (dims, ))):
            sd[f'blocks.{i}.{name}'] = torch.randn(*shape, generator=g)
    return sd


def test_imagenet_mae_init_inflates_patch_embedding(tmp_path):
    register_checkpoint_loader()
    sd = _mae_vit_state_dict()
    path = tmp_path / 'mae_pretrain_vit_tiny.pth'
    torch.save({'model': sd}, path)
    model = VideoViT('tiny', input_size=(4, 32, 32),
                     init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    own_pos = model.pos_embed.clone()
    model.init_weights()
    assert torch.equal(model.blocks[1].mlp.fc2.weight, sd['blocks.1.mlp.fc2.weight'])
    assert torch.equal(model.cls_token, sd['cls_token'])
    assert torch.equal(model.norm.bias, sd['norm.bias'])
    assert torch.equal(model.pos_embed, own_pos)  # the spatio-temporal code is kept
    # A static clip (frame repeated over the 2-frame tubelet) gets the image model's token.
    frame = torch.randn(1, 3, 32, 32)
    clip = frame.unsqueeze(2).repeat(1, 1, 4, 1, 1)
    image_tokens = F.conv2d(frame, sd['patch_embed.proj.weight'], sd['patch_embed.proj.bias'],
                            stride=16).flatten(2).transpose(1, 2)  # (1, 4, D)
    video_tokens = model.patch_embed(clip)  # (1, 2 * 4, D), time-major
    assert torch.allclose(video_tokens[:, :4], image_tokens, atol=1e-4)
    assert torch.allclose(video_tokens[:, 4:], image_tokens, atol=1e-4)


def test_imagenet_mae_shape_mismatch_is_a_clear_error(tmp_path):
    register_checkpoint_loader()
    path = tmp_path / 'mae_vit_wide.pth'
    torch.save({'model': _mae_vit_state_dict(dims=128)}, path)
    model = VideoViT('tiny', input_size=(4, 32, 32),
                     init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError) as err:
        model.init_weights()
    msg = str(err.value)
    assert str(path) in msg and 'blocks.0.attn.qkv.weight' in msg and '(384, 128)' in msg
    path2 = tmp_path / 'mae_vit_shallow.pth'
    torch.save({'model': _mae_vit_state_dict(layers=1)}, path2)
    with pytest.raises(ValueError, match='blocks.1'):
        VideoViT('tiny', input_size=(4, 32, 32),
                 init_cfg=dict(type='Pretrained', checkpoint=str(path2))).init_weights()
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        VideoViT('tiny', input_size=(4, 32, 32),
                 init_cfg=dict(type='Pretrained',
                               checkpoint=str(tmp_path / 'missing.pth'))).init_weights()


def test_audio_checkpoint_pos_embed_is_loaded_not_regenerated(tmp_path):
    """docs/en/design.md, pitfall 6: a foreign (non-grid) pos_embed comes from the checkpoint."""
    register_checkpoint_loader()
    src = AudioViT('tiny', input_size=(64, 32))
    sd = src.state_dict()
    # Audio-MAE-like: the grid code laid out for a (2, 4) grid while tokens are 4 x 2
    sd['pos_embed'] = get_2d_sincos_pos_embed(64, (2, 4), cls_token=True).unsqueeze(0)
    path = tmp_path / 'audiomae.pth'
    torch.save({'model': sd}, path)
    model = AudioViT('tiny', input_size=(64, 32),
                     init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    assert not torch.allclose(model.pos_embed, sd['pos_embed'])
    model.init_weights()
    assert torch.equal(model.pos_embed, sd['pos_embed'])
    assert torch.equal(model.blocks[0].attn.qkv.weight, sd['blocks.0.attn.qkv.weight'])


def test_prefix_picks_one_encoder_of_a_bigger_checkpoint(tmp_path):
    """``init_cfg.prefix`` (mmengine's convention): e.g. the audio encoder of a MAViL checkpoint."""
    register_checkpoint_loader()
    torch.manual_seed(3)
    src = AudioViT('tiny', input_size=(64, 32))
    other = AudioViT('tiny', input_size=(64, 32))  # same names, other values: must not be loaded
    state = {f'audio_backbone.{k}': v for k, v in src.state_dict().items()}
    state.update({f'video_backbone.{k}': v for k, v in other.state_dict().items()})
    path = tmp_path / 'mavil_epoch_1.pth'
    torch.save({'state_dict': state}, path)
    for prefix in ('audio_backbone.', 'audio_backbone'):
        model = AudioViT('tiny', input_size=(64, 32),
                         init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix=prefix))
        model.init_weights()
        for k, v in src.state_dict().items():
            assert torch.equal(model.state_dict()[k], v), k
    with pytest.raises(KeyError, match="prefix 'neck.'") as err:
        AudioViT('tiny', input_size=(64, 32),
                 init_cfg=dict(type='Pretrained', checkpoint=str(path),
                               prefix='neck.')).init_weights()
    assert str(path) in str(err.value)


def test_wrong_pretrained_init_cfg_keys_are_named():
    with pytest.raises(KeyError, match="'prefx'"):
        AudioViT('tiny', input_size=(64, 32),
                 init_cfg=dict(type='Pretrained', checkpoint='x.pth', prefx='a.')).init_weights()
    with pytest.raises(KeyError, match='lacks `checkpoint`'):
        AudioViT('tiny', input_size=(64, 32), init_cfg=dict(type='Pretrained')).init_weights()


def test_second_view_is_encoded_in_the_same_forward():
    """``forward(x, ids, ids2)`` = the two views encoded separately, stacked (rows B..2B)."""
    torch.manual_seed(0)
    model = VideoViT('tiny', input_size=(4, 32, 32)).eval()
    x = torch.randn(2, 3, 4, 32, 32)
    m = random_masking(2, model.num_patches, 0.5, second_view=True)
    both = model(x, m.ids_keep, m.ids_keep_second)
    assert both.shape == (4, 1 + m.ids_keep.shape[1], 64)
    assert torch.allclose(both[:2], model(x, m.ids_keep), atol=1e-6)
    assert torch.allclose(both[2:], model(x, m.ids_keep_second), atol=1e-6)
    with pytest.raises(ValueError, match='ids_keep_second'):
        model(x, None, m.ids_keep_second)


def test_vit_l_builds_on_the_meta_device():
    """No tensor -> Python conversions in construction: ViT-L is counted without memory."""
    with torch.device('meta'):
        audio, video = AudioViT('l'), VideoViT('l')
    assert audio.cls_token.is_meta and video.blocks[23].mlp.fc2.weight.is_meta
    assert (audio.num_patches, video.num_patches) == (512, 784)
    assert (audio.patch_numel, video.patch_numel) == (256, 1536)
    D = 1024
    block = 12 * D * D + 13 * D  # qkv, proj, fc1, fc2 and two LayerNorms
    assert sum(p.numel() for p in audio.parameters()) == 256 * D + D + D + 24 * block + 2 * D
    assert sum(p.numel() for p in video.parameters()) == 1536 * D + D + D + 24 * block + 2 * D
