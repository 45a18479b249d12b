"""Model utilities: sin-cos embeddings, masking, attention, patchify."""
import math

import pytest
import torch
import torch.nn.functional as F

from mavilkit.models.utils import (Attention, DropPath, PatchEmbed, gather_tokens,
                                   get_1d_sincos_pos_embed, get_2d_sincos_pos_embed,
                                   get_3d_sincos_pos_embed, num_visible_tokens, patchify,
                                   random_masking, set_fused_attention, unpatchify)


def _sincos(d, p):
    """The Transformer code written out: sin(p / 10000^(2i/d)) for i < d/2, then the cosines."""
    return [math.sin(p / 10000**(2 * i / d)) for i in range(d // 2)] + \
        [math.cos(p / 10000**(2 * i / d)) for i in range(d // 2)]


def test_1d_sincos_matches_formula():
    emb = get_1d_sincos_pos_embed(8, torch.tensor([0., 3., 7.]))
    for row, p in zip(emb, (0, 3, 7)):
        assert row.tolist() == pytest.approx(_sincos(8, p), abs=1e-6)


def test_2d_and_3d_sincos_code_each_axis_in_token_order():
    emb = get_2d_sincos_pos_embed(8, (3, 2), cls_token=True)
    assert emb.shape == (1 + 6, 8) and emb[0].abs().sum() == 0
    # token 1 + t*2 + f
    assert emb[1 + 2 * 2 + 1].tolist() == pytest.approx(_sincos(4, 2) + _sincos(4, 1), abs=1e-6)
    emb3 = get_3d_sincos_pos_embed(16, (2, 3, 4))
    assert emb3.shape == (24, 16)
    t, h, w = 1, 2, 3
    expected = _sincos(4, t) + _sincos(6, h) + _sincos(6, w)
    assert emb3[t * 12 + h * 4 + w].tolist() == pytest.approx(expected, abs=1e-6)
    with pytest.raises(ValueError, match='divisible by 16'):
        get_3d_sincos_pos_embed(24, (2, 2, 2))


@pytest.mark.parametrize('n, ratio, keep', [(512, 0.8, 102), (784, 0.8, 157), (512, 0.5, 256),
                                            (784, 0.9, 78), (512, 0.7, 154)])
def test_visible_count_is_rounded(n, ratio, keep):
    # Appendix B: 103 x 768 / 158 x 768 with CLS at 80 %; Fig. 3: 154 visible of 512 at 70 %.
    assert num_visible_tokens(n, ratio) == keep
    info = random_masking(3, n, ratio)
    assert info.ids_keep.shape == (3, keep)
    assert info.mask.sum(1).tolist() == [n - keep] * 3


def test_masking_views_and_restore():
    g = torch.Generator().manual_seed(0)
    B, N = 4, 50
    info = random_masking(B, N, 0.8, second_view=True, generator=g)
    L = 10
    assert info.ids_keep_second.shape == (B, L)
    for b in range(B):
        keep, second = set(info.ids_keep[b].tolist()), set(info.ids_keep_second[b].tolist())
        assert len(keep) == L and len(second) == L and not keep & second
        removed = {i for i in range(N) if info.mask[b, i] == 1}
        assert removed == set(range(N)) - keep and second <= removed
    # ids_restore inverts the shuffle: visible tokens then removed ones, put back in order.
    x = torch.arange(N).float().repeat(B, 1).unsqueeze(-1) + 100 * torch.arange(B).view(B, 1, 1)
    removed_ids = torch.stack([
        torch.tensor([i for i in range(N) if i not in set(info.ids_keep[b].tolist())])
        for b in range(B)])
    shuffled = torch.cat([gather_tokens(x, info.ids_keep), gather_tokens(x, removed_ids)], 1)
    # any order of the removed part works, since they are all replaced by [MASK] tokens; the
    # visible part must land on ids_keep:
    restored = gather_tokens(shuffled, info.ids_restore)
    for b in range(B):
        for i in info.ids_keep[b].tolist():
            assert restored[b, i, 0] == x[b, i, 0]
    assert info.mask.gather(1, info.ids_keep).sum() == 0


def test_ids_restore_is_inverse_permutation():
    info = random_masking(2, 30, 0.6)
    ids_shuffle = info.ids_restore.argsort(dim=1)
    # the shuffle starts with the visible tokens, and restore o shuffle is the identity
    assert torch.equal(ids_shuffle[:, :12], info.ids_keep)
    assert torch.equal(ids_shuffle.gather(1, info.ids_restore), torch.arange(30).repeat(2, 1))
    assert torch.equal(info.ids_restore.sort(1).values, torch.arange(30).repeat(2, 1))


def test_second_view_needs_half_masked():
    with pytest.raises(ValueError, match='mask_ratio >= 0.5'):
        random_masking(2, 512, 0.4, second_view=True)
    with pytest.raises(ValueError, match=r'\[0, 1\)'):
        random_masking(2, 512, 1.0)


def test_attention_sdpa_switch_matches_explicit_formula():
    torch.manual_seed(0)
    attn = Attention(16, 4)
    x = torch.randn(2, 5, 16)
    q, k, v = attn.qkv(x).reshape(2, 5, 3, 4, 4).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-1, -2) / 2.0, dim=-1)  # sqrt(head dim 4) = 2
    expected = attn.proj((weights @ v).transpose(1, 2).reshape(2, 5, 16))
    assert torch.allclose(attn(x), expected, atol=1e-5)
    set_fused_attention(False)
    try:
        assert torch.allclose(attn(x), expected, atol=1e-5)
    finally:
        set_fused_attention(True)


def test_drop_path():
    x = torch.ones(1000, 3)
    dp = DropPath(0.25)
    dp.eval()
    assert torch.equal(dp(x), x)
    dp.train()
    y = dp(x)
    vals = y[:, 0]
    assert torch.all((vals == 0) | torch.isclose(vals, torch.tensor(1 / 0.75)))
    assert 0 < (vals == 0).sum() < 1000
    assert (y == y[:, :1]).all()  # whole samples dropped


def test_patchify_order_and_inverse():
    x = torch.randn(2, 3, 4, 6, 8)
    p = (2, 3, 4)
    patches = patchify(x, p)
    assert patches.shape == (2, 2 * 2 * 2, 24 * 3)
    # patch (t, h, w) = 1*4 + 0*2 + 1 = 5, values ordered (pt, ph, pw, C)
    ref = x[1, :, 2:4, 0:3, 4:8].permute(1, 2, 3, 0).reshape(-1)
    assert torch.equal(patches[1, 5], ref)
    assert torch.equal(unpatchify(patches, p, (2, 2, 2), 3), x)


def test_patch_embed_token_order_is_patchify_order():
    torch.manual_seed(0)
    pe = PatchEmbed((8, 4), (4, 2), 1, 5)
    x = torch.randn(3, 1, 8, 4)
    w = pe.proj.weight.permute(0, 2, 3, 1).reshape(5, -1)  # (D, ph*pw*C) in patchify order
    expected = F.linear(patchify(x, (4, 2)), w, pe.proj.bias)
    assert torch.allclose(pe(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r'expected input \(B, 1, 8, 4\)'):
        pe(torch.randn(1, 1, 8, 5))
