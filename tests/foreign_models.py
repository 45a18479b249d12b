"""Plain-PyTorch re-implementations of foreign models' forward passes, for converter parity tests.

Written from the papers' and repositories' *descriptions* (pre-norm ViT blocks, MAE encoders and
decoders, the MAViL release's fusion and pooling, CAV-MAE's shared layer), with explicit
formulas: patch embeddings as reshapes and einsums (no convolution), LayerNorm and attention
written out, exact-erf GELU. No code of those repositories is used. Weights live in plain dicts
under each source's own key names, drawn from a seeded generator with no zeros or identities
left, so that a wrong mapping changes the outputs.
"""
import math
from typing import Dict, Iterable, Tuple

import torch

# LayerNorm epsilons of the sources: MAE, Audio-MAE and the MAViL release build their norms with
# partial(nn.LayerNorm, eps=1e-6); CAV-MAE with a plain nn.LayerNorm (PyTorch's 1e-5).
EPS = 1e-6
CAVMAE_EPS = 1e-5
BLOCK = ('norm1', 'attn.qkv', 'attn.proj', 'norm2', 'mlp.fc1', 'mlp.fc2')


class Weights(dict):
    """Seeded tensors: linear weights ~ N(0, 1/fan_in), biases ~ N(0, 0.1²), LayerNorm scales
    ~ 1 + N(0, 0.2²), everything else ~ N(0, 0.5²)."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.gen = torch.Generator().manual_seed(seed)

    def randn(self, *shape, std=1., mean=0.):
        return torch.randn(*shape, generator=self.gen) * std + mean

    def linear(self, name: str, out_dims: int, in_dims: int) -> None:
        self[f'{name}.weight'] = self.randn(out_dims, in_dims, std=in_dims**-0.5)
        self[f'{name}.bias'] = self.randn(out_dims, std=0.1)

    def norm(self, name: str, dims: int) -> None:
        self[f'{name}.weight'] = self.randn(dims, std=0.2, mean=1.)
        self[f'{name}.bias'] = self.randn(dims, std=0.1)

    def block(self, prefix: str, dims: int, mlp_ratio: int = 4,
              extra_norms: Iterable[str] = ()) -> None:
        self.norm(f'{prefix}.norm1', dims)
        self.linear(f'{prefix}.attn.qkv', 3 * dims, dims)
        self.linear(f'{prefix}.attn.proj', dims, dims)
        self.norm(f'{prefix}.norm2', dims)
        self.linear(f'{prefix}.mlp.fc1', mlp_ratio * dims, dims)
        self.linear(f'{prefix}.mlp.fc2', dims, mlp_ratio * dims)
        for name in extra_norms:
            self.norm(f'{prefix}.{name}', dims)

    def tensor(self, name: str, *shape, std=0.5) -> None:
        self[name] = self.randn(*shape, std=std)

    def kernel(self, name: str, dims: int, in_channels: int, patch: Tuple[int, ...]) -> None:
        fan_in = in_channels * math.prod(patch)
        self[f'{name}.weight'] = self.randn(dims, in_channels, *patch, std=fan_in**-0.5)
        self[f'{name}.bias'] = self.randn(dims, std=0.1)


# ----------------------------------------------------------------------------- primitives
def layer_norm(x, w, b, eps=EPS):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean)**2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w + b


def linear(x, p, name):
    return x @ p[f'{name}.weight'].t() + p[f'{name}.bias']


def gelu(x):
    return 0.5 * x * (1. + torch.erf(x / math.sqrt(2.)))


def attention(x, p, name, heads):
    B, N, D = x.shape
    dh = D // heads
    qkv = linear(x, p, f'{name}.qkv').reshape(B, N, 3, heads, dh)
    q, k, v = (qkv[:, :, i].transpose(1, 2) for i in range(3))  # (B, H, N, dh)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh), dim=-1)
    out = (weights @ v).transpose(1, 2).reshape(B, N, D)
    return linear(out, p, f'{name}.proj')


def block(x, p, prefix, heads, norm1='norm1', norm2='norm2', eps=EPS):
    """Pre-norm ViT block: x + Attn(LN(x)), then + MLP(LN(.))."""
    h = layer_norm(x, p[f'{prefix}.{norm1}.weight'], p[f'{prefix}.{norm1}.bias'], eps)
    x = x + attention(h, p, f'{prefix}.attn', heads)
    h = layer_norm(x, p[f'{prefix}.{norm2}.weight'], p[f'{prefix}.{norm2}.bias'], eps)
    return x + linear(gelu(linear(h, p, f'{prefix}.mlp.fc1')), p, f'{prefix}.mlp.fc2')


def blocks(x, p, prefix, depth, heads, **kw):
    for i in range(depth):
        x = block(x, p, f'{prefix}.{i}', heads, **kw)
    return x


def patches_2d(x, weight, bias):
    """Non-overlapping 2-D patches times the kernel: ``(B, C, H, W)`` -> ``(B, h·w, D)``."""
    B, C, H, W = x.shape
    ph, pw = weight.shape[-2:]
    x = x.reshape(B, C, H // ph, ph, W // pw, pw)
    return torch.einsum('bcipjq,dcpq->bijd', x, weight).reshape(B, -1, weight.shape[0]) + bias


def patches_3d(x, weight, bias):
    """Tubelets: ``(B, C, T, H, W)`` -> ``(B, t·h·w, D)`` in time-major order."""
    B, C, T, H, W = x.shape
    pt, ph, pw = weight.shape[-3:]
    x = x.reshape(B, C, T // pt, pt, H // ph, ph, W // pw, pw)
    return torch.einsum('bcirjpkq,dcrpq->bijkd', x, weight).reshape(B, -1, weight.shape[0]) + bias


def with_cls(tokens, cls_token, pos_embed):
    """MAE: patch tokens + pos[1:], then [cls + pos[0]] in front."""
    cls = (cls_token + pos_embed[:, :1]).expand(tokens.shape[0], -1, -1)
    return torch.cat([cls, tokens + pos_embed[:, 1:]], dim=1)


def ln(p, name, x, eps=EPS):
    return layer_norm(x, p[f'{name}.weight'], p[f'{name}.bias'], eps)


# ----------------------------------------------------------------------------- MAViL release
def release_weights(seed, dims, depth, fusion_depth, audio_patch, num_audio, video_patch,
                    num_video, variant='pretrain', num_classes=5) -> Weights:
    """The released MAViL's tensors (av-superb ``VisionTransformerMM``), seeded."""
    p = Weights(seed)
    p.kernel('patch_embed.proj', dims, 1, audio_patch)
    p.tensor('cls_token', 1, 1, dims)
    p.tensor('pos_embed', 1, 1 + num_audio, dims)
    p.kernel('patch_embed_v.proj', dims, 3, video_patch)
    p.tensor('cls_token_v', 1, 1, dims)
    p.tensor('pos_embed_v', 1, 1 + num_video, dims)
    for i in range(depth):
        p.block(f'blocks.{i}', dims)
        p.block(f'blocks_v.{i}', dims)
    if variant in ('pretrain', 'ft_av'):
        for i in range(fusion_depth):
            p.block(f'blocks_av.{i}', dims)
    if variant == 'ft_av':
        p.norm('fc_norm_av', 2 * dims)
        p.linear('head_av', num_classes, 2 * dims)
    if variant == 'ft_a_v':
        for m in ('a', 'v'):
            p.norm(f'fc_norm_{m}', dims)
            p.linear(f'head_{m}', num_classes, dims)
    return p


def release_forward(p, audio, video, depth, fusion_depth, heads):
    """Encoders without final norm; fusion over [cls_a, a, cls_v, v]; returns a dict with the
    encoder tokens, the fused tokens per modality and (when the file has one) the A+V logits."""
    a = with_cls(patches_2d(audio, p['patch_embed.proj.weight'], p['patch_embed.proj.bias']),
                 p['cls_token'], p['pos_embed'])
    v = with_cls(patches_3d(video, p['patch_embed_v.proj.weight'], p['patch_embed_v.proj.bias']),
                 p['cls_token_v'], p['pos_embed_v'])
    a = blocks(a, p, 'blocks', depth, heads)
    v = blocks(v, p, 'blocks_v', depth, heads)
    out = dict(audio=a, video=v)
    if 'fc_norm_a.weight' in p:
        out['logits_audio'] = linear(ln(p, 'fc_norm_a', a[:, 1:].mean(1)), p, 'head_a')
        out['logits_video'] = linear(ln(p, 'fc_norm_v', v[:, 1:].mean(1)), p, 'head_v')
    if 'blocks_av.0.norm1.weight' in p:
        x = blocks(torch.cat([a, v], dim=1), p, 'blocks_av', fusion_depth, heads)
        na = a.shape[1]
        out['audio_fused'], out['video_fused'] = x[:, :na], x[:, na:]
        if 'fc_norm_av.weight' in p:
            pooled = torch.cat([x[:, 1:na].mean(1), x[:, na + 1:].mean(1)], dim=1)
            out['logits'] = linear(ln(p, 'fc_norm_av', pooled), p, 'head_av')
    return out


# ----------------------------------------------------------------------------- Audio-MAE / MAE
def mae_weights(seed, dims, depth, in_channels, patch, num_patches, decoder=None,
                finetuned=False, num_classes=5) -> Weights:
    """An (Audio-)MAE ViT: encoder with final norm; optionally a plain decoder
    ``dict(dims, depth, out)``; or a global-pool classifier (no norm, fc_norm, head)."""
    p = Weights(seed)
    p.kernel('patch_embed.proj', dims, in_channels, patch)
    p.tensor('cls_token', 1, 1, dims)
    p.tensor('pos_embed', 1, 1 + num_patches, dims)
    for i in range(depth):
        p.block(f'blocks.{i}', dims)
    if finetuned:
        p.norm('fc_norm', dims)
        p.linear('head', num_classes, dims)
        return p
    p.norm('norm', dims)
    if decoder is not None:
        p.linear('decoder_embed', decoder['dims'], dims)
        p.tensor('mask_token', 1, 1, decoder['dims'])
        p.tensor('decoder_pos_embed', 1, 1 + num_patches, decoder['dims'])
        for i in range(decoder['depth']):
            p.block(f'decoder_blocks.{i}', decoder['dims'])
        p.norm('decoder_norm', decoder['dims'])
        p.linear('decoder_pred', decoder['out'], decoder['dims'])
    return p


def mae_encoder(p, x, depth, heads, ids_keep=None, final_norm=True):
    """MAE encoder: embed, keep ``ids_keep`` (B, L) tokens, CLS, blocks, norm."""
    tokens = patches_2d(x, p['patch_embed.proj.weight'], p['patch_embed.proj.bias'])
    tokens = tokens + p['pos_embed'][:, 1:]
    if ids_keep is not None:
        tokens = torch.stack([t[i] for t, i in zip(tokens, ids_keep)])
    cls = (p['cls_token'] + p['pos_embed'][:, :1]).expand(x.shape[0], -1, -1)
    out = blocks(torch.cat([cls, tokens], 1), p, 'blocks', depth, heads)
    return ln(p, 'norm', out) if final_norm else out


def mae_decoder(p, latent, ids_restore, depth, heads):
    """MAE decoder: project, append mask tokens, un-shuffle, + pos, blocks, norm, predict."""
    x = linear(latent, p, 'decoder_embed')
    B, L = x.shape[0], ids_restore.shape[1]
    full = torch.cat([x[:, 1:], p['mask_token'].expand(B, L - x.shape[1] + 1, -1)], 1)
    full = torch.stack([f[r] for f, r in zip(full, ids_restore)])
    x = torch.cat([x[:, :1], full], 1) + p['decoder_pos_embed']
    x = ln(p, 'decoder_norm', blocks(x, p, 'decoder_blocks', depth, heads))
    return linear(x, p, 'decoder_pred')[:, 1:]


# ----------------------------------------------------------------------------- CAV-MAE
def cavmae_weights(seed, dims, depth, shared, audio_ft, num_frames_patches) -> Weights:
    """CAV-MAE: modality-specific blocks, ``shared`` joint blocks with extra per-modality
    norms, joint and per-modality final norms, a joint decoder (a few tensors suffice)."""
    p = Weights(seed)
    f_grid, t_grid = audio_ft
    p.kernel('patch_embed_a.proj', dims, 1, (16, 16))
    p.kernel('patch_embed_v.proj', dims, 3, (16, 16))
    p.tensor('modality_a', 1, 1, dims)
    p.tensor('modality_v', 1, 1, dims)
    p.tensor('pos_embed_a', 1, f_grid * t_grid, dims)
    p.tensor('pos_embed_v', 1, num_frames_patches, dims)
    for i in range(depth):
        p.block(f'blocks_a.{i}', dims)
        p.block(f'blocks_v.{i}', dims)
    for i in range(shared):
        p.block(f'blocks_u.{i}', dims, extra_norms=('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v'))
    for name in ('norm', 'norm_a', 'norm_v'):
        p.norm(name, dims)
    p.linear('decoder_embed', 16, dims)
    p.tensor('mask_token', 1, 1, 16)
    p.tensor('decoder_modality_a', 1, 1, 16)
    p.norm('decoder_norm', 16)
    p.linear('decoder_pred_a', 256, 16)
    return p


def cavmae_forward(p, fbank, image, depth, shared, heads):
    """Joint forward of CAV-MAE's encoder: ``fbank (B, T, F)`` is transposed to F × T before the
    patch embedding (tokens frequency-major); returns the normalised joint tokens split per
    modality: audio ``(B, F/16 · T/16, D)`` frequency-major, video ``(B, h·w, D)``."""
    a = patches_2d(fbank.transpose(1, 2).unsqueeze(1), p['patch_embed_a.proj.weight'],
                   p['patch_embed_a.proj.bias']) + p['pos_embed_a'] + p['modality_a']
    v = patches_2d(image, p['patch_embed_v.proj.weight'], p['patch_embed_v.proj.bias'])
    v = v + p['pos_embed_v'] + p['modality_v']
    a = blocks(a, p, 'blocks_a', depth, heads, eps=CAVMAE_EPS)
    v = blocks(v, p, 'blocks_v', depth, heads, eps=CAVMAE_EPS)
    x = ln(p, 'norm', blocks(torch.cat([a, v], 1), p, 'blocks_u', shared, heads, eps=CAVMAE_EPS),
           CAVMAE_EPS)
    return x[:, :a.shape[1]], x[:, a.shape[1]:]


def as_state(p: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in p.items()}
