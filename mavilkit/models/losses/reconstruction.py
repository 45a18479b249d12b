"""Masked reconstruction loss (MAViL Eq. 1 for raw targets, Eq. 5 for teacher features)."""
import torch
import torch.nn as nn

from mavilkit.registry import MODELS


@MODELS.register_module()
class MaskedReconstructionLoss(nn.Module):
    """Mean squared error over the *masked* patches only.

    For one modality, Eq. 1 of the paper is ``1/n Σ_i (â_i − a_i)²`` over the ``n`` masked
    patches. As in facebookresearch/mae's ``forward_loss``, the squared error is first averaged
    over the values of a patch, then over the masked patches of the whole batch; predictions at
    visible patches do not contribute. The algorithm sums this loss over the two modalities.

    The loss is a plain masked MSE. Per-patch normalisation of the targets (MAE's
    ``norm_pix_loss``) is a property of the *target*, not of the loss, so it lives in the target
    generator (``RawTarget(norm_pix=...)``); the stage-2 teacher targets (Eq. 5) go through the same
    loss unchanged.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.0 (Eq. 4 / 6 weight the
            reconstruction term by 1).
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor,
                mask: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            pred (Tensor): ``(B, N, D)`` decoder predictions for every patch.
            target (Tensor): ``(B, N, D)`` targets in the same patch order.
            mask (Tensor): ``(B, N)``, 1 for removed (masked) patches, 0 for visible ones.

        Returns:
            Tensor: The scalar loss. It is 0 when no patch is masked.
        """
        if pred.shape != target.shape:
            raise ValueError(f'MaskedReconstructionLoss: prediction shape {tuple(pred.shape)} '
                             f'differs from target shape {tuple(target.shape)}')
        if mask.shape != pred.shape[:2]:
            raise ValueError(f'MaskedReconstructionLoss: mask shape {tuple(mask.shape)} does '
                             f'not match the (B, N) of the prediction {tuple(pred.shape)}')
        # float32 whatever the autocast dtype: a bf16 sum of ~400·B mask entries is inexact.
        mask = mask.float()
        per_patch = (pred.float() - target.float()).pow(2).mean(dim=-1)
        # clamp: a batch without masked patches gives 0 instead of 0/0.
        loss = (per_patch * mask).sum() / mask.sum().clamp(min=1)
        return self.loss_weight * loss
