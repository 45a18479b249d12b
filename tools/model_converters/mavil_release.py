"""Convert a released MAViL checkpoint (the ViT-B model published with av-superb) to mavilkit.

The release stores one ``VisionTransformerMM`` (``roger-tseng/av-superb``,
``upstream_models/mavil``) under ``model``:

- audio encoder: ``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``blocks.{0..11}``;
- video encoder: ``patch_embed_v.proj`` (2 × 16 × 16 tubelets), ``cls_token_v``, ``pos_embed_v``,
  ``blocks_v.{0..11}``;
- fusion: ``blocks_av`` over the concatenated ``[cls_a, audio, cls_v, video]`` tokens;
- no final norm after the encoders nor after the fusion (the ViT's ``norm`` is deleted);
- fine-tuned A+V: 3 fusion blocks, then per-modality mean pools (CLS excluded), concatenated,
  ``fc_norm_av`` (a LayerNorm over 2·D) and ``head_av``;
- fine-tuned A and V (``av_fusion=False``): ``fc_norm_a`` / ``head_a`` and ``fc_norm_v`` /
  ``head_v`` on each encoder's mean pool;
- pre-trained: 2 fusion blocks and no heads.

Targets (``--config`` checks shapes and lists what the file does not provide):

- pre-trained -> ``MAViL`` (stage 1): ``audio_backbone``, ``video_backbone``, ``neck``; config
  ``configs/mavil/mavil-release_vit-b-p16_vanilla2_as2m.py`` (no final norms). Use it as a
  stage-2 teacher, for retrieval, feature export or fine-tuning.
- A+V fine-tuned -> ``AVClassifier(modality='audio_video')``: ``fusion``, ``fc_norm``,
  ``head.fc``; config ``configs/mavil/mavil-release_vit-b-p16_as2m-ft-av.py``.
- A / V fine-tuned -> ``AVClassifier(modality=--modality)``; configs
  ``configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-{a,v}.py``.

Usage::

    python tools/model_converters/mavil_release.py mavil_as_pt.pth \\
        checkpoints/mavil-release_vit-b_as2m-pre.pth
"""
from typing import Dict, List, Optional

import torch

from mavilkit.models.utils.conversion import (ConversionReport, NotThisKindError, map_blocks,
                                              require, run_converter)

KIND = 'MAViL release (av-superb VisionTransformerMM)'
PRETRAIN_CONFIG = 'configs/mavil/mavil-release_vit-b-p16_vanilla2_as2m.py'
FT_AV_CONFIG = 'configs/mavil/mavil-release_vit-b-p16_as2m-ft-av.py'
_BENCH = 'configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-'
FT_CONFIGS = dict(audio=_BENCH + 'a.py', video=_BENCH + 'v.py')


def detect(state: Dict[str, torch.Tensor]) -> str:
    """``'pretrain'``, ``'ft_av'`` or ``'ft_a_v'``."""
    if 'fc_norm_av.weight' in state:
        return 'ft_av'
    if 'fc_norm_a.weight' in state or 'head_a.weight' in state:
        return 'ft_a_v'
    return 'pretrain'


def _encoder(report: ConversionReport, state, suffix: str, dst: str) -> None:
    report.map(f'{dst}.patch_embed.proj.weight', f'patch_embed{suffix}.proj.weight')
    report.map(f'{dst}.patch_embed.proj.bias', f'patch_embed{suffix}.proj.bias')
    report.map(f'{dst}.cls_token', f'cls_token{suffix}')
    # Carried from the file, not regenerated: these fixed codes are what the weights saw.
    report.map(f'{dst}.pos_embed', f'pos_embed{suffix}')
    map_blocks(report, state, f'blocks{suffix}', f'{dst}.blocks')
    for p in ('weight', 'bias'):  # not in the release; mapped should a variant carry them
        if f'norm{suffix}.{p}' in state:
            report.map(f'{dst}.norm.{p}', f'norm{suffix}.{p}')


def convert(state: Dict[str, torch.Tensor], path: str,
            modality: Optional[str] = None) -> ConversionReport:
    """Map a release state dict onto mavilkit names (see the module docstring).

    Args:
        state (dict): The release's ``model`` state dict.
        path (str): Its file (for messages).
        modality (str, optional): For the A / V fine-tuned layout, which classifier to write
            (``'audio'`` or ``'video'``); ignored otherwise.

    Raises:
        NotThisKindError: The state dict is not in the release's layout.
    """
    hint = ('An Audio-MAE, ImageNet-MAE or CAV-MAE file has its own converter in '
            'tools/model_converters/.')
    require(state, ['patch_embed.proj.weight', 'pos_embed', 'cls_token', 'blocks.0.attn.qkv.weight',
                    'patch_embed_v.proj.weight', 'pos_embed_v', 'cls_token_v',
                    'blocks_v.0.attn.qkv.weight'], KIND, path, hint)
    if state['patch_embed_v.proj.weight'].dim() != 5:
        raise NotThisKindError(f'{path}: patch_embed_v.proj.weight has shape '
                               f'{tuple(state["patch_embed_v.proj.weight"].shape)}, not a 3-D '
                               'tubelet kernel; not a MAViL release')
    variant = detect(state)
    names = dict(pretrain='pre-trained', ft_av='A+V fine-tuned', ft_a_v='A and V fine-tuned')
    report = ConversionReport(path, f'{KIND}, {names[variant]}', state)
    unused_modality = 'video' if modality == 'audio' else 'audio'

    if variant == 'ft_a_v':
        if modality not in ('audio', 'video'):
            raise ValueError(f'{path} holds separately fine-tuned audio and video classifiers '
                             '(fc_norm_a/head_a, fc_norm_v/head_v); choose one with '
                             '--modality audio or --modality video')
        suffix = '' if modality == 'audio' else '_v'
        _encoder(report, state, suffix, f'{modality}_backbone')
        tag = modality[0]
        report.map('fc_norm.weight', f'fc_norm_{tag}.weight')
        report.map('fc_norm.bias', f'fc_norm_{tag}.bias')
        report.map('head.fc.weight', f'head_{tag}.weight')
        report.map('head.fc.bias', f'head_{tag}.bias')
        other, tag_other = ('_v', 'v') if modality == 'audio' else ('', 'a')
        heads = (f'patch_embed{other}.', f'blocks{other}.', f'fc_norm_{tag_other}.',
                 f'head_{tag_other}.')
        for key in state:
            if key.startswith(heads) or key in (f'cls_token{other}', f'pos_embed{other}'):
                report.drop(key, f'the {unused_modality} classifier (convert it with --modality '
                            f'{unused_modality})')
    else:
        _encoder(report, state, '', 'audio_backbone')
        _encoder(report, state, '_v', 'video_backbone')
        fusion = 'neck' if variant == 'pretrain' else 'fusion'
        num = map_blocks(report, state, 'blocks_av', f'{fusion}.blocks')
        if num == 0:
            raise NotThisKindError(f'{path} has no fusion blocks (blocks_av.*); a MAViL release '
                                   'has 2 (pre-trained) or 3 (A+V fine-tuned)')
        if variant == 'ft_av':
            report.map('fc_norm.weight', 'fc_norm_av.weight', how='LayerNorm over 2·D')
            report.map('fc_norm.bias', 'fc_norm_av.bias', how='LayerNorm over 2·D')
            report.map('head.fc.weight', 'head_av.weight')
            report.map('head.fc.bias', 'head_av.bias')
        report.note(f'{num} fusion blocks over [cls_a, audio, cls_v, video]; no norm after the '
                    'encoders or the fusion (configs set final_norm=False)')
    for key in state:
        if key not in report.used():
            if key.startswith(('decoder', 'mask_token')):
                report.drop(key, 'pre-training decoder: its layout is not published with the '
                            'release; mavilkit decoders start from their initialisation')
            elif key.startswith(('head.', 'fc_norm.')):
                report.drop(key, 'unused timm classifier head of the release model')
    return report


def main(argv: Optional[List[str]] = None):
    def extra(parser):
        parser.add_argument('--modality', choices=('audio', 'video'),
                            help='for the separately fine-tuned A and V file: which classifier')

    def default_config(state, args):
        variant = detect(state)
        if variant == 'ft_av':
            return FT_AV_CONFIG
        return FT_CONFIGS[args.modality] if variant == 'ft_a_v' else PRETRAIN_CONFIG

    report, _ = run_converter(lambda state, path, args: convert(state, path, args.modality),
                              argv, __doc__.splitlines()[0], default_config, extra)
    return report


if __name__ == '__main__':
    main()
