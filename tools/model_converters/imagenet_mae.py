"""Convert an ImageNet MAE ViT (facebookresearch/mae, or the same weights under timm's names)
into mavilkit's video and/or audio encoder, as MAViL's Table 5d initialises them.

``mae_pretrain_vit_base.pth`` holds a ViT-B/16 for 3 × 224 × 224 images: ``patch_embed.proj``
(``(D, 3, 16, 16)``), ``cls_token``, ``pos_embed`` (a fixed 2-D sin-cos code of the 14 × 14 grid
with a CLS row), ``blocks``, ``norm``; timm stores the same tensors under the same names (plus an
empty classifier). Decoder tensors (``decoder_*``, ``mask_token``, in the visualisation files) and
classifier tensors (``head``, ``fc_norm``) are dropped.

- **Video** (``video_backbone.*``): the 2-D kernel is repeated over the tubelet's time extent ``t``
  and divided by ``t`` (a static clip then gives each time step the image token); blocks, CLS and
  final norm by name. Position code: mavilkit's own fixed spatio-temporal code is kept
  (``--video-pos sincos``, default, as :class:`VideoViT`'s ImageNet initialisation), or the
  image's code is repeated over the time steps (``--video-pos checkpoint``).
- **Audio** (``audio_backbone.*``): the kernel is summed over the 3 colour channels (a grey
  image replicated over RGB gives the same token); the image's position code is resized
  bicubically from the 14 × 14 grid to the audio grid (``--audio-pos interpolate``, default), or
  mavilkit's own sin-cos code is kept (``--audio-pos sincos``).

Usage::

    python tools/model_converters/imagenet_mae.py mae_pretrain_vit_base.pth \\
        checkpoints/mae_pretrain_vit_base_mavilkit.pth [--targets video audio]
"""
import math
from typing import Dict, List, Optional, Sequence

import torch

from mavilkit.models.utils.conversion import (ConversionReport, NotThisKindError, map_blocks,
                                              require, resize_grid_pos_embed, run_converter)

KIND = 'ImageNet MAE ViT'
DEFAULT_CONFIG = 'configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'


def image_grid(state: Dict[str, torch.Tensor], path: str) -> int:
    n = state['pos_embed'].shape[1] - 1
    side = math.isqrt(n)
    if side * side != n:
        raise NotThisKindError(f'{path}: pos_embed has {n} patch rows, not a square image grid')
    return side


def convert(state: Dict[str, torch.Tensor], path: str, targets: Sequence[str] = ('video', 'audio'),
            video_grid: Optional[Sequence[int]] = None, video_time_patch: int = 2,
            audio_grid: Optional[Sequence[int]] = None, video_pos: str = 'sincos',
            audio_pos: str = 'interpolate', final_norm: Sequence[str] = ('audio', 'video')
            ) -> ConversionReport:
    """Map an ImageNet MAE state dict onto mavilkit encoders (see the module docstring).

    Args:
        targets: ``'video'`` and/or ``'audio'``.
        video_grid: ``(t, h, w)`` token grid of the video encoder (for ``video_pos='checkpoint'``).
        video_time_patch: Time extent of a tubelet.
        audio_grid: ``(T, F)`` token grid of the audio encoder (for ``audio_pos='interpolate'``).
        final_norm: Encoders that have a final ``norm`` in the target model.

    Raises:
        NotThisKindError: Not a 3-channel image ViT.
    """
    require(state, ['patch_embed.proj.weight', 'pos_embed', 'cls_token',
                    'blocks.0.attn.qkv.weight'], KIND, path)
    kernel = state['patch_embed.proj.weight']
    if any(k.startswith(('blocks_v.', 'patch_embed_v.', 'blocks_a.')) for k in state) \
            or kernel.dim() != 4 or kernel.shape[1] != 3:
        raise NotThisKindError(f'{path} is not a 3-channel image ViT (patch kernel '
                               f'{tuple(kernel.shape)}); use audio_mae.py, mavil_release.py or '
                               'cav_mae.py for audio / audio-visual checkpoints')
    side = image_grid(state, path)
    report = ConversionReport(path, f'{KIND} ({side}x{side} grid)', state)
    for target in targets:
        enc = f'{target}_backbone'
        if target == 'video':
            t = video_time_patch
            report.map(f'{enc}.patch_embed.proj.weight', 'patch_embed.proj.weight',
                       kernel.unsqueeze(2).repeat(1, 1, t, 1, 1) / t,
                       how=f'repeated over {t} frames / {t}')
            if video_pos == 'checkpoint':
                steps, h, w = video_grid
                pos = resize_grid_pos_embed(state['pos_embed'], (side, side), (h, w))
                patches = pos[:, 1:].repeat(1, steps, 1)  # time-major: the grid once per step
                report.map(f'{enc}.pos_embed', 'pos_embed', torch.cat([pos[:, :1], patches], 1),
                           how=f'image code repeated over {steps} time steps')
        elif target == 'audio':
            report.map(f'{enc}.patch_embed.proj.weight', 'patch_embed.proj.weight',
                       kernel.sum(dim=1, keepdim=True), how='summed over RGB')
            if audio_pos == 'interpolate':
                report.map(f'{enc}.pos_embed', 'pos_embed',
                           resize_grid_pos_embed(state['pos_embed'], (side, side), audio_grid),
                           how=f'resized {side}x{side} -> {tuple(audio_grid)}')
        else:
            raise ValueError(f'unknown target {target!r}; use video and/or audio')
        report.map(f'{enc}.patch_embed.proj.bias', 'patch_embed.proj.bias')
        report.map(f'{enc}.cls_token', 'cls_token')
        map_blocks(report, state, 'blocks', f'{enc}.blocks')
        if target in final_norm:
            report.map(f'{enc}.norm.weight', 'norm.weight')
            report.map(f'{enc}.norm.bias', 'norm.bias')
    if 'pos_embed' not in report.used():
        report.drop('pos_embed', 'image position code: the encoders keep their own fixed '
                    'sin-cos code (--video-pos / --audio-pos)')
    for key in state:
        if key in report.used():
            continue
        if key.startswith(('decoder', 'mask_token')):
            report.drop(key, 'MAE image decoder (MAViL trains its own decoders)')
        elif key.startswith(('head.', 'fc_norm.')):
            report.drop(key, 'image classifier')
        elif key.startswith('norm.'):
            report.drop(key, 'the target encoders have no final norm (final_norm=False)')
        else:
            report.drop(key, 'not part of the image ViT encoder')
    return report


def main(argv: Optional[List[str]] = None):
    def extra(parser):
        parser.add_argument('--targets', nargs='+', default=['video', 'audio'],
                            choices=('video', 'audio'), help='encoders to initialise')
        parser.add_argument('--video-pos', default='sincos', choices=('sincos', 'checkpoint'))
        parser.add_argument('--audio-pos', default='interpolate',
                            choices=('interpolate', 'sincos'))

    def run(state, path, args):
        model = args.model
        kwargs = {}
        norms = []
        for target in args.targets:
            backbone = getattr(model, f'{target}_backbone', None)
            if backbone is None:
                raise ValueError(f'the model of {args.config} has no {target}_backbone')
            if not isinstance(backbone.norm, torch.nn.Identity):
                norms.append(target)
            if target == 'video':
                kwargs.update(video_grid=backbone.grid_size,
                              video_time_patch=backbone.patch_size[0])
            else:
                kwargs.update(audio_grid=backbone.grid_size)
        return convert(state, path, args.targets, video_pos=args.video_pos,
                       audio_pos=args.audio_pos, final_norm=norms, **kwargs)

    report, _ = run_converter(run, argv, __doc__.splitlines()[0], DEFAULT_CONFIG, extra)
    return report


if __name__ == '__main__':
    main()
