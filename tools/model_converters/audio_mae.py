"""Convert an Audio-MAE checkpoint (facebookresearch/AudioMAE) to mavilkit.

Audio-MAE is a ViT over a ``1 × 1024 × 128`` fbank with 16 × 16 patches (``patch_embed.proj``,
``cls_token``, ``pos_embed``, ``blocks``), tokens in the same time-major order as mavilkit's
:class:`AudioViT`.

- **Pre-trained** (``models_mae.MaskedAutoencoderViT``): encoder with its final ``norm`` ->
  ``audio_backbone.*``; decoder (``decoder_embed``, ``mask_token``, ``decoder_pos_embed``,
  ``decoder_blocks``, ``decoder_norm``, ``decoder_pred``) -> ``audio_decoder.*`` of
  :class:`MAEDecoder` when its blocks are plain ViT blocks. The released AS-2M model was trained
  with ``decoder_mode=1`` (Swin-style local-window decoder blocks with relative position tables),
  which MAEDecoder does not compute: then the whole decoder is dropped and reported.
- **Fine-tuned** (``models_vit.VisionTransformer`` with ``global_pool``: no ``norm``,
  ``fc_norm``, ``head``) -> ``AVClassifier(modality='audio')``: ``audio_backbone.*``,
  ``fc_norm``, ``head.fc``.

``pos_embed`` is carried from the file, never regenerated: Audio-MAE builds it for an (8, 64)
grid while its tokens lie 64 × 8, and the weights were trained with that code.

Usage::

    python tools/model_converters/audio_mae.py pretrained.pth checkpoints/audiomae_as2m-pre.pth
    python tools/model_converters/audio_mae.py finetuned_as2m.pth \\
        checkpoints/audiomae_as2m-ft.pth \\
        --config configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-a.py
"""
from typing import Dict, List, Optional

import torch

from mavilkit.models.utils.conversion import (BLOCK_PARAMS, ConversionReport, NotThisKindError,
                                              block_indices, map_blocks, require, run_converter)

KIND = 'Audio-MAE'
PRETRAIN_CONFIG = 'configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
FINETUNE_CONFIG = ('configs/mavil/benchmarks/'
                   'vit-base-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-a.py')


def plain_decoder(state: Dict[str, torch.Tensor]) -> bool:
    """Whether every ``decoder_blocks.*`` parameter is one of a plain pre-norm ViT block."""
    keys = [k for k in state if k.startswith('decoder_blocks.')]
    return bool(keys) and all(k.split('.', 2)[2] in BLOCK_PARAMS for k in keys)


def convert(state: Dict[str, torch.Tensor], path: str) -> ConversionReport:
    """Map an Audio-MAE state dict onto mavilkit names (see the module docstring).

    Raises:
        NotThisKindError: Not an Audio-MAE checkpoint (e.g. a 3-channel image model, or a MAViL
            release with video branches).
    """
    require(state, ['patch_embed.proj.weight', 'pos_embed', 'cls_token',
                    'blocks.0.attn.qkv.weight'], KIND, path)
    if any(k.startswith(('blocks_v.', 'patch_embed_v.', 'blocks_a.')) for k in state):
        raise NotThisKindError(f'{path} has video branches: a MAViL release (use '
                               'mavil_release.py) or CAV-MAE (use cav_mae.py), not Audio-MAE')
    kernel = state['patch_embed.proj.weight']
    if kernel.dim() != 4 or kernel.shape[1] != 1:
        raise NotThisKindError(f'{path}: patch_embed.proj.weight {tuple(kernel.shape)} is not a '
                               'one-channel spectrogram kernel; an ImageNet MAE (use '
                               'imagenet_mae.py)?')
    finetuned = 'head.weight' in state
    report = ConversionReport(path, f'{KIND}, {"fine-tuned" if finetuned else "pre-trained"}',
                              state)
    enc = 'audio_backbone'
    report.map(f'{enc}.patch_embed.proj.weight', 'patch_embed.proj.weight')
    report.map(f'{enc}.patch_embed.proj.bias', 'patch_embed.proj.bias')
    report.map(f'{enc}.cls_token', 'cls_token')
    report.map(f'{enc}.pos_embed', 'pos_embed', how='carried from the file')
    map_blocks(report, state, 'blocks', f'{enc}.blocks')
    if finetuned:
        if 'norm.weight' in state:
            raise NotThisKindError(f'{path} has both a final norm and a head; Audio-MAE '
                                   'fine-tuned with global_pool has fc_norm instead')
        require(state, ['fc_norm.weight', 'head.bias'], f'{KIND} fine-tuned (global pool)', path)
        report.map('fc_norm.weight', 'fc_norm.weight')
        report.map('fc_norm.bias', 'fc_norm.bias')
        report.map('head.fc.weight', 'head.weight')
        report.map('head.fc.bias', 'head.bias')
        _drop_rest(report, state)
        return report

    require(state, ['norm.weight'], f'{KIND} pre-trained', path)
    report.map(f'{enc}.norm.weight', 'norm.weight')
    report.map(f'{enc}.norm.bias', 'norm.bias')
    decoder = [k for k in state if k.startswith(('decoder_', 'mask_token'))]
    if plain_decoder(state):
        dec = 'audio_decoder'
        for src, dst in (('decoder_embed.weight', 'decoder_embed.weight'),
                         ('decoder_embed.bias', 'decoder_embed.bias'),
                         ('mask_token', 'mask_token'), ('decoder_norm.weight', 'norm.weight'),
                         ('decoder_norm.bias', 'norm.bias'), ('decoder_pred.weight', 'head.weight'),
                         ('decoder_pred.bias', 'head.bias')):
            report.map(f'{dec}.{dst}', src)
        report.map(f'{dec}.pos_embed', 'decoder_pos_embed', how='carried from the file')
        map_blocks(report, state, 'decoder_blocks', f'{dec}.blocks')
        report.note(f'decoder: {len(block_indices(state, "decoder_blocks"))} plain ViT blocks '
                    'mapped onto MAEDecoder (it predicts 16 x 16 = 256 values per patch)')
    else:
        for key in decoder:
            report.drop(key, 'Audio-MAE decoder with Swin-style local-window blocks '
                        '(decoder_mode=1, relative position tables): MAEDecoder has global '
                        'attention, so none of the decoder is mapped')
    _drop_rest(report, state)
    return report


def _drop_rest(report: ConversionReport, state: Dict[str, torch.Tensor]) -> None:
    used = report.used()
    for key in state:
        if key not in used:
            report.drop(key, 'not part of the Audio-MAE encoder, decoder or classifier')


def main(argv: Optional[List[str]] = None):
    def default_config(state, args):
        return FINETUNE_CONFIG if 'head.weight' in state else PRETRAIN_CONFIG

    report, _ = run_converter(lambda state, path, args: convert(state, path), argv,
                              __doc__.splitlines()[0], default_config)
    return report


if __name__ == '__main__':
    main()
