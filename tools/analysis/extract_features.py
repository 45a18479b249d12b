"""Export pooled embeddings per clip.

    python tools/analysis/extract_features.py CONFIG CHECKPOINT --out FILE.npz [--split test]

CONFIG is a fine-tuning config (``AVClassifier``) or a retrieval config (``AVRetriever``; with the
MAViL checkpoint itself for the pre-trained encoders). The clips of ``<split>_dataloader`` are
encoded without masking; ``FILE.npz`` holds

- ``clip_ids`` (N,) str, ``clip_index`` (N,) int (position in the annotation file),
  ``clip_uid`` (N,) str (the clip's global identity: its media files); each clip once;
- ``labels`` (N, C) float32 multi-hot (absent when the dataset has no labels);
- ``audio`` (N, D), ``video`` (N, D): mean-pooled uni-modal encoder tokens (CLS excluded; an
  ``AVRetriever`` L2-normalises them); ``fusion`` (N, 2D): pooled fused audio ‖ video (A+V
  classifiers, or an ``AVRetriever`` with a ``neck``). Multi-clip videos are averaged over clips;
- ``unreadable_clip_ids``, ``unreadable_clip_uids``, ``unreadable_paths``, ``unreadable_reasons``
  (M,) str: the clips whose media could not be read, missing files and clips left out by
  ``missing_modality='skip'`` included. They are listed (also on stdout) and left out: no
  other clip is written in their place.
"""
import argparse
import os.path as osp
import sys

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

from mavilkit.models.utils.checkpoint import load_checked, load_state_dict  # noqa: E402
from mavilkit.registry import MODELS  # noqa: E402
from mavilkit.utils import add_trusted_root, register_all_modules  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export pooled audio/video/fusion embeddings')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', required=True, help='output .npz file')
    parser.add_argument('--split', default='test', choices=['train', 'val', 'test'],
                        help='which dataloader of the config to read (default: test)')
    parser.add_argument('--batch-size', type=int, default=None)
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def load_weights(model: torch.nn.Module, checkpoint: str) -> None:
    """Load every exported module from ``checkpoint``; a missing one is an error, not noise.

    Read and checked by :mod:`mavilkit.models.utils.checkpoint` (a checkpoint without the
    encoders, or with other shapes, raises). The fusion layers (``fusion`` of an A+V classifier,
    ``neck`` of a retriever) must be there too: they are not part of a pre-training checkpoint's
    encoders, and random ones would export meaningless ``fusion`` embeddings.
    """
    missing = load_checked(model, load_state_dict(checkpoint), source=checkpoint).missing
    for part in ('fusion', 'neck'):
        if getattr(model, part, None) is not None and any(
                k.startswith(part + '.') for k in missing):
            raise SystemExit(
                f'{checkpoint} has no weights for `{part}` (e.g. '
                f'{next(k for k in missing if k.startswith(part + "."))!r}): export from a '
                'fine-tuned checkpoint of this config, or drop the fusion from the config')


def main(argv=None):
    args = parse_args(argv)
    if not args.out.endswith('.npz'):
        raise SystemExit(f'--out must end with .npz, got {args.out}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    register_all_modules()
    loader_cfg = cfg.get(f'{args.split}_dataloader')
    if not loader_cfg:
        raise SystemExit(f'{args.config} has no {args.split}_dataloader')
    loader_cfg = dict(loader_cfg)
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader_cfg['dataset'] = dict(loader_cfg['dataset'], test_mode=True)
    if args.split == 'train':  # the test-view pipeline: no augmentation
        test_cfg = cfg.get('test_dataloader') or cfg.get('val_dataloader')
        if test_cfg is not None:
            loader_cfg['dataset']['pipeline'] = test_cfg['dataset']['pipeline']
    if args.batch_size:
        loader_cfg['batch_size'] = args.batch_size
    loader_cfg.pop('persistent_workers', None)
    loader = Runner.build_dataloader(loader_cfg)

    model_cfg = dict(cfg.model)
    model_cfg.setdefault('data_preprocessor', cfg.get('data_preprocessor'))
    model_cfg['init_cfg'] = None  # the checkpoint below provides every weight
    model = MODELS.build(model_cfg)
    add_trusted_root(osp.dirname(osp.abspath(args.checkpoint)))
    load_weights(model, args.checkpoint)
    model.to(args.device).eval()

    out, unreadable = extract(model, loader)
    np.savez(args.out, **out)
    print(f'Wrote {len(out["clip_ids"])} clips to {args.out}: ' +
          ', '.join(f'{k} {v.shape}' for k, v in out.items() if not k.startswith('unreadable')))
    if unreadable:
        print(f'{len(unreadable)} clips could not be read and are not in {args.out}:')
        for u in unreadable:
            print(f'  {u["clip_id"]} {u["path"]!r}: {u["reason"]}')


class _SplitUnreadable:
    """Collate function: ``(collated readable samples or None, [unreadable records])``."""

    def __init__(self, collate_fn):
        self.collate_fn = collate_fn

    def __call__(self, batch):
        failed = [b['unreadable'] for b in batch if 'unreadable' in b]
        ok = [b for b in batch if 'unreadable' not in b]
        return (self.collate_fn(ok) if ok else None), failed


def extract(model: torch.nn.Module, loader) -> tuple:
    """Encode every clip of ``loader`` once; return ``(arrays, unreadable clips)``.

    The leaf datasets stop substituting unreadable clips (``substitute_unreadable=False``): each
    such clip is returned as a record with its reason; the clips they left out at start-up
    (missing files, ``missing_modality='skip'``: ``dropped_clips``) are listed the same way. A
    clip that comes again (a ``RepeatDataset``, the same annotation file twice in a
    ``ConcatDataset``) is written once, by its ``clip_uid``.
    """
    from mmengine.utils import ProgressBar

    from mavilkit.engine.hooks.bad_media_hook import leaf_datasets
    for dataset in leaf_datasets(loader.dataset):
        if hasattr(dataset, 'substitute_unreadable'):
            dataset.substitute_unreadable = False
    loader.collate_fn = _SplitUnreadable(loader.collate_fn)

    feats, clip_ids, indices, uids, labels, unreadable = {}, [], [], [], [], []
    seen = set()
    # clips the datasets left out at start-up (missing files, missing_modality='skip') were
    # not read either: list them too
    for dataset in leaf_datasets(loader.dataset):
        for record in getattr(dataset, 'dropped_clips', []):
            if record['clip_uid'] not in seen:
                seen.add(record['clip_uid'])
                unreadable.append(record)
    num_classes = getattr(loader.dataset, 'num_classes', None)
    progress = ProgressBar(len(loader.dataset))
    with torch.no_grad():
        for batch, failed in loader:
            for record in failed:
                if record['clip_uid'] not in seen:
                    seen.add(record['clip_uid'])
                    unreadable.append(record)
            num_in_batch = len(failed)
            if batch is not None:
                data = model.data_preprocessor(batch, training=False)
                samples = data['data_samples']
                num_in_batch += len(samples)
                keep = []
                for i, sample in enumerate(samples):
                    meta = sample.metainfo
                    uid = str(meta.get('clip_uid', meta.get('clip_index', len(seen))))
                    if uid in seen:
                        continue
                    seen.add(uid)
                    keep.append(i)
                    clip_ids.append(str(meta.get('clip_id', '')))
                    indices.append(int(meta.get('clip_index', -1)))
                    uids.append(uid)
                    if num_classes and 'gt_label' in sample:
                        row = np.zeros(num_classes, np.float32)
                        row[sample.gt_label.cpu().numpy()] = 1.
                        labels.append(row)
                if keep:
                    for key, value in model.extract_feat(data['inputs']).items():
                        feats.setdefault(key, []).append(value.float().cpu().numpy()[keep])
            for _ in range(num_in_batch):
                progress.update()
    print()
    out = {k: np.concatenate(v) for k, v in feats.items()}
    out.update(clip_ids=np.array(clip_ids), clip_index=np.array(indices, dtype=np.int64),
               clip_uid=np.array(uids))
    if labels and len(labels) == len(clip_ids):
        out['labels'] = np.stack(labels)
    for key in ('clip_id', 'clip_uid', 'path', 'reason'):
        name = 'unreadable_' + ('paths' if key == 'path' else
                                'reasons' if key == 'reason' else key + 's')
        out[name] = np.array([str(u[key]) for u in unreadable], dtype=str)
    return out, unreadable


if __name__ == '__main__':
    main()
