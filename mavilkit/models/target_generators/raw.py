"""Raw-input targets of stage 1: spectrogram and pixel patches (MAViL Eq. 1)."""
from typing import Dict

import torch
import torch.nn as nn

from mavilkit.registry import MODELS
from ..utils.patch_embed import patchify
from .base import BaseTargetGenerator


@MODELS.register_module()
class RawTarget(BaseTargetGenerator):
    """Patchified spectrogram and video, in the student's token order (``target_space='input'``).

    :meth:`setup` records the student's patch sizes (plain values, no module references) and sets
    ``out_dims`` (256 and 1536 for the ViT-B inputs). :meth:`invert` undoes the target
    normalisation, so a prediction can be drawn as a spectrogram or as frames.

    Args:
        norm_pix (bool): Normalise every target patch by its own mean and variance (MAE's
            ``norm_pix_loss``): ``(p − mean(p)) / sqrt(var(p) + eps)``, ``var`` unbiased.
            Defaults to False: stage 1 reconstructs the (dataset-normalised) spectrogram and
            (ImageNet-normalised) pixels themselves, as Eq. 1 and Fig. 3 show.
        eps (float): Added to the variance with ``norm_pix``. Defaults to 1e-6 (MAE).
    """

    target_space = 'input'

    def __init__(self, norm_pix: bool = False, eps: float = 1e-6) -> None:
        super().__init__(norm_target=False, eps=eps)
        self.norm_pix = norm_pix
        self.patch_size: Dict[str, tuple] = {}

    def setup(self, student: nn.Module) -> None:
        """Record the student's patch geometry and set ``out_dims``."""
        for name in ('audio', 'video'):
            backbone = getattr(student, f'{name}_backbone')
            self.patch_size[name] = tuple(backbone.patch_size)
            self.out_dims[name] = int(backbone.patch_numel)

    def _patches(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        if not self.patch_size:
            raise RuntimeError('RawTarget.setup(student) was not called (MAViL calls it)')
        return {name: patchify(inputs[name], size) for name, size in self.patch_size.items()}

    def _patch_stats(self, patches: torch.Tensor):
        """Per-patch mean and ``sqrt(var + eps)`` over the values of each patch."""
        mean = patches.mean(dim=-1, keepdim=True)
        var = patches.var(dim=-1, keepdim=True)
        return mean, (var + self.eps)**.5

    def compute_targets(self, inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """``dict(audio=(B, 1, T, F), video=(B, C, T, H, W))`` -> per-patch targets.

        Returns:
            dict: ``audio (B, N, 256)`` and ``video (B, M, 1536)`` for the ViT-B inputs.
        """
        targets = self._patches(inputs)
        if self.norm_pix:
            for name, patches in targets.items():
                mean, std = self._patch_stats(patches)
                targets[name] = (patches - mean) / std
        return targets

    def invert(self, preds: Dict[str, torch.Tensor],
               inputs: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        """Predicted targets -> input patches: with ``norm_pix`` each predicted patch gets the
        mean and ``sqrt(var + eps)`` of the corresponding input patch back (as MAE's
        visualisation does); without, the predictions already are input patches.

        Args:
            preds (dict): ``(B, N, P)`` predictions per modality (any subset of the modalities).
            inputs (dict): The inputs ``(B, C, *S)`` the targets are made from.

        Returns:
            dict: ``(B, N, P)`` float32 patches per modality, in the units of ``inputs``.
        """
        out = {}
        for name, pred in preds.items():
            pred = pred.float()
            if self.norm_pix:
                mean, std = self._patch_stats(
                    patchify(inputs[name].float(), self.patch_size[name]))
                pred = pred * std + mean
            out[name] = pred
        return out

    def extra_repr(self) -> str:
        return f'norm_pix={self.norm_pix}, eps={self.eps}'
