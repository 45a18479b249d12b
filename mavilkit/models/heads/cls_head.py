"""Linear classification head for fine-tuning (MAE recipe: mean-pooled tokens → linear)."""
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from mavilkit.registry import MODELS
from ..utils.checkpoint import PretrainedInitMixin


@MODELS.register_module()
class AVClsHead(PretrainedInitMixin, BaseModule):
    """Linear layer over a pooled feature, with the fine-tuning loss of Table 10.

    - ``loss='bce'``: binary cross-entropy with logits against ``gt_score`` (multi-hot, soft after
      mixup); for multi-label data or when mixup is on (AudioSet, VGGSound, SPC-1). Scores are
      sigmoids.
    - ``loss='ce'``: softmax cross-entropy against ``gt_score`` as a class distribution (the usual
      CE for one-hot targets; ESC-50). Scores are softmax probabilities.

    No label smoothing (Appendix B).

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Feature dimension (``D``, or ``2D`` for the A+V concatenation).
        loss (str): ``'bce'`` or ``'ce'``. Defaults to ``'bce'``.
        dropout (float): Dropout before the linear layer. Defaults to 0.
        init_std (float): Std of the truncated-normal weight init (MAE: 2e-5). Defaults to 2e-5.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: str = 'bce',
                 dropout: float = 0.,
                 init_std: float = 2e-5,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if loss not in ('bce', 'ce'):
            raise ValueError(f"AVClsHead: loss must be 'bce' or 'ce', got {loss!r}")
        if num_classes < 1:
            raise ValueError(f'AVClsHead: num_classes must be >= 1, got {num_classes}')
        self.num_classes = num_classes
        self.loss_type = loss
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.trunc_normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``(..., in_channels) -> (..., num_classes)`` logits."""
        return self.fc(self.dropout(feats))

    def scores(self, logits: torch.Tensor) -> torch.Tensor:
        """Class scores: sigmoids for BCE, softmax probabilities for CE."""
        return logits.sigmoid() if self.loss_type == 'bce' else logits.softmax(dim=-1)

    def targets(self, data_samples: List, device: torch.device) -> torch.Tensor:
        """``(B, num_classes)`` targets: ``gt_score`` if set, else one-/multi-hot ``gt_label``.

        Raises:
            ValueError: the targets have another number of classes than the head, or a sample
                has several labels with ``loss='ce'`` (multi-label data needs BCE, Table 10).
        """
        if all('gt_score' in s for s in data_samples):
            target = torch.stack([s.gt_score for s in data_samples]).to(device)
        else:
            labels = [s.gt_label.to(device).flatten() for s in data_samples]
            counts = [label.numel() for label in labels]
            if self.loss_type == 'ce' and max(counts, default=1) > 1:
                raise ValueError("AVClsHead(loss='ce') got a sample with several labels: "
                                 "multi-label data needs loss='bce' (Table 10)")
            rows = torch.repeat_interleave(  # row index built on the host: no device sync
                torch.arange(len(labels)), torch.tensor(counts, dtype=torch.long)).to(device)
            target = torch.zeros(len(labels), self.num_classes, device=device)
            target[rows, torch.cat(labels)] = 1.
        if target.shape[1] != self.num_classes:
            raise ValueError(f'AVClsHead: targets have {target.shape[1]} classes but the head has '
                             f'num_classes={self.num_classes}')
        return target

    def loss(self, logits: torch.Tensor, data_samples: List) -> dict:
        """``dict(loss_cls=...)`` for ``(B, num_classes)`` logits."""
        target = self.targets(data_samples, logits.device).to(logits.dtype)
        if self.loss_type == 'bce':
            loss = F.binary_cross_entropy_with_logits(logits, target)
        else:
            loss = F.cross_entropy(logits, target)
        return dict(loss_cls=loss)
