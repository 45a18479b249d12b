"""Prepare a checkpoint for sharing: keep the weights (and the dataset meta), drop the optimizer,
the message hub, the scheduler and the rest of the training state, and put the first 8 hex
digits of the file's sha256 in its name (as mmpretrain's ``publish_model``).

Usage::

    python tools/model_converters/publish_model.py work_dirs/mavil-s1/epoch_20.pth \\
        checkpoints/mavil-s1_vit-b_as2m.pth
    # -> checkpoints/mavil-s1_vit-b_as2m-1a2b3c4d.pth

The output holds ``state_dict`` and ``meta`` (``dataset_meta``, ``mmengine_version``, the
source ``epoch`` / ``iter`` and, when known, the config's file name). It loads wherever a
training checkpoint does (``load_from``, ``init_cfg``, teacher configs, ``tools/test.py``).
"""
import argparse
import hashlib
import os
import os.path as osp
from typing import List, Optional

import torch

#: ``meta`` entries worth keeping; the rest (hook states, seeds, environment) is training state.
KEEP_META = ('dataset_meta', 'mmengine_version', 'epoch', 'iter', 'cfg_file', 'converted_from',
             'kind')


def sha256_prefix(path: str, length: int = 8) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()[:length]


def publish(src: str, dst: str, keep_ema: bool = False) -> str:
    """Write the published file; return its final path (``dst`` with the hash before ``.pth``).

    Raises:
        FileNotFoundError: No ``src``.
        ValueError: ``src`` holds no state dict of tensors, or ``keep_ema`` and it has no
            ``ema_state_dict``.
    """
    from mavilkit.utils.compat import add_trusted_root, load_local_checkpoint
    if not osp.isfile(src):
        raise FileNotFoundError(f'publish_model: {src} not found')
    # Training checkpoints pickle mmengine objects (the message hub); this one is the user's own.
    add_trusted_root(osp.dirname(osp.abspath(src)))
    raw = load_local_checkpoint(src, map_location='cpu')
    if not isinstance(raw, dict):
        raise ValueError(f'publish_model: {src} holds a {type(raw).__name__}, not a checkpoint')
    state = raw.get('state_dict', raw.get('model', raw))
    if keep_ema:
        # Asked for the EMA weights: never fall back to the online model silently.
        ema = raw.get('ema_state_dict')
        if not isinstance(ema, dict) or not any(k.startswith('module.') for k in ema):
            raise ValueError(f'publish_model: --ema given but {src} has no ema_state_dict with '
                             'module.* weights (was it trained with mmengine\'s EMAHook?)')
        state = {k[len('module.'):]: v for k, v in ema.items() if k.startswith('module.')}
    tensors = {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f'publish_model: {src} holds no tensors under state_dict / model')
    meta = raw.get('meta') if isinstance(raw.get('meta'), dict) else {}
    meta = {k: meta[k] for k in KEEP_META if k in meta}
    meta['published_from'] = osp.basename(src)
    os.makedirs(osp.dirname(osp.abspath(dst)) or '.', exist_ok=True)
    tmp = dst + '.tmp'
    torch.save(dict(state_dict=tensors, meta=meta), tmp)
    stem = dst[:-len('.pth')] if dst.endswith('.pth') else dst
    final = f'{stem}-{sha256_prefix(tmp)}.pth'
    os.replace(tmp, final)
    return final


def main(argv: Optional[List[str]] = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='a training checkpoint (e.g. work_dirs/RUN/epoch_20.pth)')
    parser.add_argument('dst', help='output name; the sha256 prefix is added before .pth')
    parser.add_argument('--ema', action='store_true',
                        help='publish the EMA weights (ema_state_dict) instead of the model')
    args = parser.parse_args(argv)
    final = publish(args.src, args.dst, args.ema)
    print(f'wrote {final} ({osp.getsize(final) / 2**20:.1f} MiB)')
    return final


if __name__ == '__main__':
    main()
