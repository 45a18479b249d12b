"""No fusion: the uni-modal MAE baselines (Table 2, column "None")."""
from typing import Tuple

import torch
import torch.nn as nn

from mavilkit.registry import MODELS


@MODELS.register_module()
class IdentityFusion(nn.Module):
    """Return the uni-modal encoder outputs unchanged, so each decoder sees one modality only."""

    def forward(self, audio: torch.Tensor,
                video: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return audio, video
