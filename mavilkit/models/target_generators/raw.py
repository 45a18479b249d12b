"""Raw-input targets of stage 1: spectrogram and pixel patches (MAViL Eq. 1)."""
from typing import Dict

import torch
import torch.nn as nn

from mavilkit.registry import MODELS
from ..utils.patch_embed import patchify


@MODELS.register_module()
class RawTarget(nn.Module):
    """Patchified spectrogram and video, in the student's token order.

    ``MAViL`` calls :meth:`setup` with its backbones, which records their patch sizes (plain
    values, no module references) and sets ``out_dims`` (256 and 1536 for the ViT-B inputs).

    Args:
        norm_pix (bool): Normalise every target patch by its own mean and variance (MAE's
            ``norm_pix_loss``). Defaults to False: stage 1 reconstructs the (dataset-normalised)
            spectrogram and (ImageNet-normalised) pixels themselves, as Eq. 1 and Fig. 3 show.
        eps (float): Added to the variance with ``norm_pix``. Defaults to 1e-6 (MAE).
    """

    def __init__(self, norm_pix: bool = False, eps: float = 1e-6) -> None:
        super().__init__()
        self.norm_pix = norm_pix
        self.eps = eps
        self.patch_size: Dict[str, tuple] = {}
        self.out_dims: Dict[str, int] = {}

    def setup(self, audio_backbone: nn.Module, video_backbone: nn.Module) -> None:
        """Record the students' patch geometry and set ``out_dims``."""
        for name, backbone in (('audio', audio_backbone), ('video', video_backbone)):
            self.patch_size[name] = tuple(backbone.patch_size)
            self.out_dims[name] = int(backbone.patch_numel)

    @torch.no_grad()
    def forward(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``dict(audio=(B, 1, T, F), video=(B, C, T, H, W))`` -> per-patch targets.

        Returns:
            dict: ``audio (B, N, 256)`` and ``video (B, M, 1536)`` for the ViT-B inputs.
        """
        if not self.patch_size:
            raise RuntimeError('RawTarget.setup(audio_backbone, video_backbone) was not called')
        targets = {}
        for name, patch_size in self.patch_size.items():
            target = patchify(inputs[name], patch_size)
            if self.norm_pix:
                mean = target.mean(dim=-1, keepdim=True)
                var = target.var(dim=-1, keepdim=True)
                target = (target - mean) / (var + self.eps)**.5
            targets[name] = target
        return targets
