"""InfoNCE with cosine similarity (MAViL Eq. 2), with negatives from every process."""
import logging
from typing import Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log

from mavilkit.registry import MODELS
from .gather import all_gather_with_grad, dist_rank_and_world_size


def contrastive_accuracy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Top-1 accuracy (in %) of picking the positive among the candidates of each row.

    Args:
        logits (Tensor): ``(B, K)`` similarities of ``B`` anchors to ``K`` candidates.
        labels (Tensor): ``(B,)`` index of each anchor's positive.

    Returns:
        Tensor: A scalar, detached from the graph (for logging).
    """
    with torch.no_grad():
        return (logits.argmax(dim=1) == labels).float().mean() * 100


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    r"""InfoNCE over cosine similarities, Eq. 2 of MAViL.

    .. math::
        L_c(x, y) = -\frac{1}{B}\sum_i \log
            \frac{\exp(S(x_i, y_i)/\tau)}{\sum_j \exp(S(x_i, y_j)/\tau)}

    with :math:`S` the cosine similarity. ``B`` is the **global** batch: with
    ``gather_with_grad=True`` the candidates :math:`y_j` are gathered from every process with
    gradient (:func:`all_gather_with_grad`); each process computes the loss of its own rows
    :math:`x_i` against all gathered :math:`y_j` (and, for the symmetric form, of its own
    :math:`y_i` against all gathered :math:`x_j`). Since DDP averages the gradients of the
    processes and each process's loss is the mean over its own rows, the resulting gradient is
    exactly the gradient of Eq. 2 computed on one process over the global batch (a test checks
    this with two gloo processes). Summing per-process losses, or contrasting only within the
    local batch, would give a different objective.

    **Direction.** The default is the one-directional Eq. 2 as the paper writes it: Eq. 3 applies
    :math:`L_c` once per pair, :math:`L_c(a_{emb}, v_{emb})` (audio anchors, video candidates)
    and :math:`\frac12[L_c(a, \ddot a) + L_c(v, \ddot v)]`, and the weights α = 0.1, β = 0.01
    were tuned for that form. Gradients reach both inputs either way. ``symmetric=True`` gives
    the CLIP-style average :math:`\frac12[L_c(x, y) + L_c(y, x)]`.

    Args:
        temperature (float): Softmax temperature τ (MAViL: 0.1 inter-modal, 1.0 intra-modal).
        symmetric (bool): Average both directions instead of Eq. 2's ``x → y``.
            Defaults to False.
        gather_with_grad (bool): Contrast against the global batch gathered from every process
            with gradient. False contrasts only within the local batch (negatives from this
            process only). Defaults to True; no effect on one process.

    The loss is unweighted: α and β of Eq. 4 are ``MAViL``'s ``inter_weight`` and
    ``intra_weight``, the one place they are set.
    """

    def __init__(self,
                 temperature: float,
                 symmetric: bool = False,
                 gather_with_grad: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'InfoNCELoss: temperature must be > 0, got {temperature}')
        self.temperature = temperature
        self.symmetric = symmetric
        self.gather_with_grad = gather_with_grad
        self._warned_single_candidate = False

    def _one_direction(self, anchors: torch.Tensor, candidates: torch.Tensor,
                       offset: int) -> Tuple[torch.Tensor, torch.Tensor]:
        logits = anchors @ candidates.t() / self.temperature
        labels = torch.arange(anchors.shape[0], device=anchors.device) + offset
        return F.cross_entropy(logits, labels), contrastive_accuracy(logits, labels)

    def forward(self,
                x: torch.Tensor,
                y: torch.Tensor,
                with_accuracy: bool = False
                ) -> Union[torch.Tensor, Tuple[torch.Tensor, torch.Tensor]]:
        """Compute the loss of this process's rows.

        Args:
            x (Tensor): ``(B, H)`` anchors on this process (e.g. ``a_emb``).
            y (Tensor): ``(B, H)`` their positives (e.g. ``v_emb``), row ``i`` pairs with
                ``x[i]``; the other rows of the global batch are the negatives.
            with_accuracy (bool): Also return the top-1 contrastive accuracy (%) of the
                ``x → y`` retrieval, for logging.

        Returns:
            Tensor | tuple[Tensor, Tensor]: The scalar loss, and the accuracy when
            ``with_accuracy``.
        """
        if x.dim() != 2 or x.shape != y.shape:
            raise ValueError('InfoNCELoss expects two (B, H) tensors of the same shape, got '
                             f'{tuple(x.shape)} and {tuple(y.shape)}')
        # float32 logits: with τ = 0.1 bf16 similarities would lose most of their resolution.
        x = F.normalize(x.float(), dim=-1)
        y = F.normalize(y.float(), dim=-1)
        offset = 0
        all_x, all_y = x, y
        if self.gather_with_grad:
            rank, world_size = dist_rank_and_world_size()
            if world_size > 1:
                offset = rank * x.shape[0]
                all_y = all_gather_with_grad(y)
                if self.symmetric:
                    all_x = all_gather_with_grad(x)
        if all_y.shape[0] < 2 and not self._warned_single_candidate:
            # A shape, not a value: no host-device sync. With one candidate the softmax is 1, so
            # the loss is 0 and the accuracy 100 whatever the embeddings.
            self._warned_single_candidate = True
            print_log(f'InfoNCELoss(temperature={self.temperature}): the contrastive batch holds '
                      f'{all_y.shape[0]} sample(s), so there are no negatives: this loss is 0 '
                      'and its accuracy 100 whatever the embeddings (meaningless). Use a '
                      '(global) batch of at least 2.', logger='current', level=logging.WARNING)
        loss, acc = self._one_direction(x, all_y, offset)
        if self.symmetric:
            loss = 0.5 * (loss + self._one_direction(y, all_x, offset)[0])
        return (loss, acc) if with_accuracy else loss
