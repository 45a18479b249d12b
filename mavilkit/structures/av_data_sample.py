"""Data sample of one audio-video clip."""
from typing import Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def _to_tensor(value, dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value).to(dtype)
    if isinstance(value, (int, float)):
        value = [value]
    return torch.tensor(list(value), dtype=dtype)


class AVDataSample(BaseDataElement):
    """Labels and predictions of one clip.

    Metainfo: ``clip_id`` (str), ``clip_index`` (int, position in the annotation file),
    ``clip_uid`` (str, global identity of the clip: its media files), ``num_clips`` (int).
    Data fields:

    - ``gt_label`` (``LongTensor``, any length): class indices.
    - ``gt_score`` (``float (num_classes,)``): multi-hot target, soft after mixup.
    - ``pred_score`` (``float (num_classes,)``): set by classifiers.
    """

    def set_gt_label(self, value: Union[int, Sequence[int], np.ndarray, torch.Tensor]
                     ) -> 'AVDataSample':
        """Set ``gt_label`` from an int or a sequence of class indices."""
        self.gt_label = _to_tensor(value, torch.long)
        return self

    def set_gt_score(self, value: Union[np.ndarray, torch.Tensor]) -> 'AVDataSample':
        """Set ``gt_score`` (a float vector of length ``num_classes``)."""
        self.gt_score = _to_tensor(value, torch.float32)
        return self

    def set_pred_score(self, value: Union[np.ndarray, torch.Tensor]) -> 'AVDataSample':
        """Set ``pred_score`` (a float vector of length ``num_classes``)."""
        self.pred_score = _to_tensor(value, torch.float32)
        return self
