"""Convert a CAV-MAE checkpoint (YuanGongND/cav-mae) to mavilkit, as far as the models agree.

CAV-MAE (``src/models/cav_mae.py``, ``CAVMAE`` / ``CAVMAEFT``) has modality-specific encoders
(``patch_embed_a``/``blocks_a``, ``patch_embed_v``/``blocks_v``, 11 blocks each for ViT-B), a
shared layer ``blocks_u`` over the concatenated tokens, and a joint final ``norm``. What maps:

- ``blocks_a`` / ``blocks_v`` -> ``audio_backbone.blocks`` / ``video_backbone.blocks`` (encoders
  without final norm);
- ``blocks_u`` (its joint-path ``norm1``/``norm2``) -> a one-layer :class:`VanillaFusion`
  ``neck.blocks``; the joint ``norm`` -> ``neck.norm_audio`` and ``neck.norm_video`` (the same
  weights: one LayerNorm over both modalities equals one per modality);
- audio patches: CAV-MAE feeds the fbank transposed (frequency × time) and orders its tokens
  frequency-major; mavilkit feeds time × frequency and orders them time-major, so the kernel is
  transposed and ``pos_embed_a`` is re-ordered on its 8 × 64 grid;
- ``modality_a`` / ``modality_v`` (added to every token) are folded into the position codes;
- LayerNorm epsilon: CAV-MAE's norms are plain ``nn.LayerNorm`` (eps 1e-5), MAE's and mavilkit's
  default 1e-6; the target config sets ``norm_eps=1e-5`` (backbone ``arch`` and neck), and the
  summary notes a config that does not;
- video: CAV-MAE encodes one 224 × 224 frame; the 2-D kernel is repeated over the tubelet's
  time extent ``t`` and divided by ``t``, and the frame's code is repeated over the time steps.

What does not map (the converter lists every tensor):

- CAV-MAE has **no CLS token**; mavilkit's encoders prepend one, which attends with the patch
  tokens. It stays as initialised (position row = the modality embedding), so mavilkit's
  outputs differ from CAV-MAE's by its influence: a fine-tuning adapts it.
- the modality-specific path of the shared layer (``norm1_a``, ``norm2_a``, ``norm1_v``,
  ``norm2_v``, ``norm_a``, ``norm_v``): mavilkit's fusion has no per-modality branch;
- the joint decoder (``decoder_*``, ``mask_token``, ``decoder_modality_*``): one decoder over both
  modalities with modality tokens, where MAViL has one decoder per modality;
- a fine-tuned ``mlp_head``: it pools both modalities in one mean, where mavilkit's A+V head pools
  them separately.

Usage::

    python tools/model_converters/cav_mae.py cav-mae-scale++.pth checkpoints/cav-mae_mavilkit.pth
"""
from typing import Dict, List, Optional

import torch

from mavilkit.models.utils.conversion import (ConversionReport, block_indices, map_blocks, require,
                                              run_converter)

KIND = 'CAV-MAE'
#: CAV-MAE builds its blocks and norms with a plain ``nn.LayerNorm`` (eps 1e-5), where MAE,
#: Audio-MAE and the MAViL release use 1e-6.
CAVMAE_NORM_EPS = 1e-5
DEFAULT_CONFIG = 'configs/mavil/mavil-cavmae_vit-b-p16_shared1_as2m.py'


def convert(state: Dict[str, torch.Tensor], path: str, audio_grid=(64, 8),
            video_grid=(4, 14, 14), video_time_patch: int = 2) -> ConversionReport:
    """Map a CAV-MAE state dict onto a mavilkit MAViL (see the module docstring).

    Args:
        audio_grid: ``(T, F)`` token grid of the target audio encoder (CAV-MAE's grid is F × T).
        video_grid: ``(t, h, w)`` token grid of the target video encoder.
        video_time_patch: Time extent of a tubelet.

    Raises:
        NotThisKindError: Not a CAV-MAE checkpoint.
    """
    require(state, ['patch_embed_a.proj.weight', 'patch_embed_v.proj.weight', 'pos_embed_a',
                    'pos_embed_v', 'modality_a', 'modality_v', 'blocks_a.0.attn.qkv.weight',
                    'blocks_u.0.attn.qkv.weight'], KIND, path,
            'A MAViL release has blocks/blocks_v/blocks_av: use mavil_release.py.')
    report = ConversionReport(path, KIND + (' fine-tuned' if any(
        k.startswith('mlp_head.') for k in state) else ' pre-trained'), state)
    dims = state['modality_a'].shape[-1]

    # audio: (F x T) patches in frequency-major order -> (T x F) patches, time-major
    t_grid, f_grid = audio_grid
    pos_a = state['pos_embed_a']
    if pos_a.shape[1] != t_grid * f_grid:
        raise ValueError(f'{path}: pos_embed_a has {pos_a.shape[1]} rows, the target audio grid '
                         f'is {tuple(audio_grid)}')
    pos_a = pos_a.reshape(1, f_grid, t_grid, dims).transpose(1, 2).reshape(1, -1, dims)
    pos_a = torch.cat([state['modality_a'], pos_a + state['modality_a']], dim=1)
    report.map('audio_backbone.pos_embed', ['pos_embed_a', 'modality_a'], pos_a,
               how='frequency-major -> time-major, + modality_a; CLS row = modality_a')
    report.map('audio_backbone.patch_embed.proj.weight', 'patch_embed_a.proj.weight',
               state['patch_embed_a.proj.weight'].transpose(-1, -2),
               how='kernel transposed: (freq, time) -> (time, freq)')
    report.map('audio_backbone.patch_embed.proj.bias', 'patch_embed_a.proj.bias')

    # video: one frame -> tubelets of a static clip
    steps, h, w = video_grid
    pos_v = state['pos_embed_v']
    if pos_v.shape[1] != h * w:
        raise ValueError(f'{path}: pos_embed_v has {pos_v.shape[1]} rows, the target video grid '
                         f'is {tuple(video_grid)} ({h * w} per time step)')
    pos_v = torch.cat([state['modality_v'], (pos_v + state['modality_v']).repeat(1, steps, 1)], 1)
    report.map('video_backbone.pos_embed', ['pos_embed_v', 'modality_v'], pos_v,
               how=f'frame code repeated over {steps} time steps, + modality_v; CLS row = '
               'modality_v')
    t = video_time_patch
    report.map('video_backbone.patch_embed.proj.weight', 'patch_embed_v.proj.weight',
               state['patch_embed_v.proj.weight'].unsqueeze(2).repeat(1, 1, t, 1, 1) / t,
               how=f'repeated over {t} frames / {t}')
    report.map('video_backbone.patch_embed.proj.bias', 'patch_embed_v.proj.bias')

    map_blocks(report, state, 'blocks_a', 'audio_backbone.blocks')
    map_blocks(report, state, 'blocks_v', 'video_backbone.blocks')
    for i in block_indices(state, 'blocks_u'):
        for name in ('norm1_a', 'norm1_v', 'norm2_a', 'norm2_v'):
            for p in ('weight', 'bias'):
                report.drop(f'blocks_u.{i}.{name}.{p}', 'modality-specific path of the shared '
                            'layer: mavilkit\'s fusion has no per-modality branch')
    map_blocks(report, state, 'blocks_u', 'neck.blocks')
    for p in ('weight', 'bias'):
        report.map(f'neck.norm_audio.{p}', f'norm.{p}', how='joint norm')
        report.map(f'neck.norm_video.{p}', f'norm.{p}', how='joint norm')
        for name in ('norm_a', 'norm_v'):
            report.drop(f'{name}.{p}', 'final norm of the modality-specific path (uni-modal '
                        'outputs for the contrastive loss): no counterpart')
    for key in state:
        if key in report.used():
            continue
        if key.startswith(('decoder_', 'mask_token')):
            report.drop(key, 'joint audio-visual decoder with modality tokens: MAViL has one '
                        'decoder per modality')
        elif key.startswith('mlp_head.'):
            report.drop(key, 'CAV-MAE head pools both modalities in one mean; mavilkit\'s A+V '
                        'head pools them separately')
        else:
            report.drop(key, 'not part of the CAV-MAE encoders')
    report.note('CAV-MAE has no CLS token: audio_backbone.cls_token and video_backbone.cls_token '
                'stay as initialised, and the prepended CLS attends with the patch tokens, so '
                'outputs differ from CAV-MAE\'s by its influence')
    return report


def main(argv: Optional[List[str]] = None):
    def run(state, path, args):
        model = args.model
        report = convert(state, path, audio_grid=model.audio_backbone.grid_size,
                         video_grid=model.video_backbone.grid_size,
                         video_time_patch=model.video_backbone.patch_size[0])
        wrong = sorted({f'{name} (eps={m.eps:g})' for name, m in model.named_modules()
                        if isinstance(m, torch.nn.LayerNorm) and m.eps != CAVMAE_NORM_EPS
                        and name.startswith(('audio_backbone.', 'video_backbone.', 'neck.'))})
        if wrong:
            report.note(f'CAV-MAE\'s LayerNorms use eps={CAVMAE_NORM_EPS:g} but the target config '
                        f'has {len(wrong)} with another eps (e.g. {wrong[0]}): set '
                        'arch=dict(..., norm_eps=1e-5) in both backbones and norm_eps=1e-5 in '
                        'the neck, or the converted model computes slightly different numbers')
        return report

    report, _ = run_converter(run, argv, __doc__.splitlines()[0], DEFAULT_CONFIG)
    return report


if __name__ == '__main__':
    main()
