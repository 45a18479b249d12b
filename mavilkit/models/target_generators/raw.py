"""Raw-input targets of stage 1: spectrogram and pixel patches (MAViL Eq. 1)."""
from typing import TYPE_CHECKING, Dict, Optional

import torch

from mavilkit.registry import MODELS
from ..utils.patch_embed import patchify
from .base import BaseTargetGenerator

if TYPE_CHECKING:
    from ..selfsup.mavil import MAViL


@MODELS.register_module()
class RawTarget(BaseTargetGenerator):
    """Patchified spectrogram and video, in the student's token order (``target_space='input'``).

    :meth:`setup` records the student's patch sizes (plain values, no module references) and sets
    ``out_dims`` (256 and 1536 for the ViT-B inputs). :meth:`invert` undoes the target
    normalisation with the visible patches' statistics, so a prediction can be drawn as a
    spectrogram or as frames.

    Args:
        norm_pix (bool): Normalise every target patch by its own mean and variance (MAE's
            ``norm_pix_loss``): ``(p − mean(p)) / sqrt(var(p) + eps)``, ``var`` unbiased.
            Defaults to False (the module's neutral default, as MAE's); every pre-training
            config under ``configs/mavil/`` sets True, as Audio-MAE, MAE and mae_st pre-train
            (``configs/mavil/README.md``, "Choices the paper leaves open").
        eps (float): Added to the variance with ``norm_pix``. Defaults to 1e-6 (MAE).
    """

    target_space = 'input'

    def __init__(self, norm_pix: bool = False, eps: float = 1e-6) -> None:
        super().__init__(norm_target=False, eps=eps)
        self.norm_pix = norm_pix
        self.patch_size: Dict[str, tuple] = {}

    def setup(self, student: 'MAViL') -> None:
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

    def invert(self, preds: Dict[str, torch.Tensor], inputs: Dict[str, torch.Tensor],
               masks: Optional[Dict[str, torch.Tensor]] = None) -> Dict[str, torch.Tensor]:
        """Predicted targets -> input patches, for drawing (Fig. 3).

        Without ``norm_pix`` the predictions already are input patches. With ``norm_pix`` they
        are per-patch normalised, and a masked patch's own mean and variance are exactly what
        the model was not shown, so they may not be used to draw it. Every patch of a sample
        gets back the statistics of that sample's *visible* patches: a visible patch its own
        mean and ``sqrt(var + eps)``, a removed patch the mean of the visible patches' means and
        ``sqrt(mean of their variances + eps)`` (``var`` unbiased, over one patch's values, as
        in :meth:`compute_targets`).

        Args:
            preds (dict): ``(B, N, P)`` predictions per modality (any subset of the modalities).
            inputs (dict): The inputs ``(B, C, *S)`` the targets are made from.
            masks (dict, optional): ``(B, N)`` per modality, 1 (True) = removed, as
                :func:`~mavilkit.models.utils.random_masking` gives. Needed with ``norm_pix``.

        Returns:
            dict: ``(B, N, P)`` float32 patches per modality, in the units of ``inputs``.

        Raises:
            ValueError: ``norm_pix`` without ``masks`` for a modality, or a sample whose patches
                are all removed (nothing to take statistics from).
        """
        out = {}
        for name, pred in preds.items():
            pred = pred.float()
            if self.norm_pix:
                if masks is None or name not in masks:
                    raise ValueError(
                        f'RawTarget.invert: norm_pix predictions of {name!r} need its mask '
                        '(1 = removed): a removed patch is drawn with the visible patches\' '
                        'statistics')
                pred = self._denormalise(pred, patchify(inputs[name].float(),
                                                        self.patch_size[name]), masks[name])
            out[name] = pred
        return out

    def _denormalise(self, pred: torch.Tensor, patches: torch.Tensor,
                     mask: torch.Tensor) -> torch.Tensor:
        """``pred (B, N, P)`` in per-patch normalised units -> input units (see :meth:`invert`)."""
        removed = mask.to(patches.device).bool().unsqueeze(-1)  # (B, N, 1)
        visible = (~removed).float()
        num_visible = visible.sum(1, keepdim=True)  # (B, 1, 1)
        if bool((num_visible == 0).any()):
            raise ValueError('RawTarget.invert: a sample has no visible patch to take '
                             'statistics from')
        mean = patches.mean(dim=-1, keepdim=True)
        var = patches.var(dim=-1, keepdim=True)
        pooled_mean = (mean * visible).sum(1, keepdim=True) / num_visible
        pooled_var = (var * visible).sum(1, keepdim=True) / num_visible
        mean = torch.where(removed, pooled_mean, mean)
        var = torch.where(removed, pooled_var, var)
        return pred * (var + self.eps)**.5 + mean

    def extra_repr(self) -> str:
        return f'norm_pix={self.norm_pix}, eps={self.eps}'
