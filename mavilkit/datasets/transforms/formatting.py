"""Packing of a transformed sample into model inputs and an ``AVDataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from mavilkit.registry import TRANSFORMS
from mavilkit.structures import AVDataSample


@TRANSFORMS.register_module()
class PackAVInputs(BaseTransform):
    """Pack audio, video and labels.

    - ``audio``: float32 ``(1, T, F)`` from the ``(T, F)`` fbank, or the ``(L,)`` waveform of
      ``PrepareWaveform`` (device fbank; ``audio_num_frames`` then goes to the metainfo).
    - ``video``: uint8 ``(C, T, H, W)`` from ``imgs`` ``(num_clips * T, H, W, C)``, or
      ``(K, C, T, H, W)`` when ``num_clips = K > 1`` (multi-clip testing). Frames stay uint8
      until ``AVDataPreprocessor``.
    - ``AVDataSample`` with ``gt_label`` (class indices) and ``gt_score`` (multi-hot over
      ``num_classes``), metainfo from ``meta_keys``: ``clip_uid`` is the clip's global
      identity and ``clip_index`` its position in the annotation file (both set by
      ``BaseAVDataset``; ``clip_index`` falls back to ``sample_idx``).

    Required Keys: ``audio`` and/or ``imgs`` (+ ``clip_len``, ``num_clips``)

    Optional Keys: ``gt_label``, ``num_classes``, ``clip_id``, ``sample_idx``

    Added Keys: ``inputs``, ``data_samples`` (the output has only these two keys)

    Args:
        meta_keys (Sequence[str]): metainfo keys. Defaults to
            ``('clip_id', 'clip_index', 'clip_uid', 'num_clips')``.
    """

    def __init__(self,
                 meta_keys: Sequence[str] = ('clip_id', 'clip_index', 'clip_uid', 'num_clips')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        inputs = {}
        if 'audio' in results:
            audio = torch.from_numpy(np.ascontiguousarray(results['audio'], np.float32))
            inputs['audio'] = audio[None] if audio.ndim == 2 else audio
        if 'imgs' in results:
            imgs = results['imgs']
            num_clips = results.get('num_clips', 1)
            clip_len = results.get('clip_len', imgs.shape[0] // num_clips)
            video = torch.from_numpy(np.ascontiguousarray(imgs)).reshape(
                num_clips, clip_len, *imgs.shape[1:]).permute(0, 4, 1, 2, 3)
            inputs['video'] = (video[0] if num_clips == 1 else video).contiguous()
        if not inputs:
            raise KeyError('PackAVInputs needs "audio" or "imgs" in the results; '
                           f'got keys {sorted(results)}')
        data_sample = AVDataSample()
        if 'gt_label' in results:
            labels = results['gt_label']
            data_sample.set_gt_label(labels)
            if results.get('num_classes'):
                score = torch.zeros(results['num_classes'])
                score[data_sample.gt_label] = 1.
                data_sample.set_gt_score(score)
        meta = dict(results)
        meta.setdefault('clip_index', results.get('sample_idx'))
        meta.setdefault('num_clips', 1)
        data_sample.set_metainfo({k: meta[k] for k in self.meta_keys if k in meta})
        if 'audio' in inputs and inputs['audio'].dim() == 1 and 'audio_num_frames' in results:
            # A waveform for the device fbank: it needs the frames of the unpadded audio.
            data_sample.set_metainfo(dict(audio_num_frames=int(results['audio_num_frames'])))
        return dict(inputs=inputs, data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
