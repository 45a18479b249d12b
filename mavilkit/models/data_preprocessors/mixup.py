"""Per-sample mixup as AST and Audio-MAE do it, drawn for a batch on the device.

AST (``src/dataloader.py``) and Audio-MAE (``dataset.py``) mix each training sample, with
probability ``mixup_prob`` (their ``mixup`` option, 0.5 in Table 10), with a partner drawn at
random; ``λ ~ Beta(mixup_beta, mixup_beta)`` (10 in both), the *waveforms* are mixed before the
fbank and the labels with the same λ: ``x = λ · x_i + (1 − λ) · x_partner``,
``y = λ · y_i + (1 − λ) · y_partner``. Unmixed samples have ``λ = 1``.

Here the partner is another sample of the same (per-process) batch, uniform over the other
``B − 1``: the references draw it uniformly from the whole dataset, and a batch is itself a
random draw from the (possibly weighted) sampler. Each sample is mixed with its partner's
*original* inputs, so mixes never chain.
"""
from typing import Tuple

import torch


def draw_mixup(batch_size: int, mixup_prob: float,
               mixup_beta: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Per-sample mixup draws for a batch, on the CPU (no device synchronisation).

    Args:
        batch_size (int): ``B``; a batch of 1 has no partner and is never mixed.
        mixup_prob (float): probability that a sample is mixed, in [0, 1].
        mixup_beta (float): both parameters of the Beta distribution of λ, > 0.

    Returns:
        tuple: ``lam`` float32 ``(B,)`` (1 for unmixed samples) and ``partner`` int64 ``(B,)``
        (the batch index of the partner; the sample's own index when unmixed).
    """
    index = torch.arange(batch_size)
    if batch_size < 2 or mixup_prob <= 0:
        return torch.ones(batch_size), index
    mixed = torch.rand(batch_size) < mixup_prob
    lam = torch.distributions.Beta(float(mixup_beta), float(mixup_beta)).sample((batch_size, ))
    partner = (index + torch.randint(1, batch_size, (batch_size, ))) % batch_size
    return torch.where(mixed, lam, torch.ones(())), torch.where(mixed, partner, index)


def mix_batch(x: torch.Tensor, lam: torch.Tensor, partner: torch.Tensor) -> torch.Tensor:
    """``λ_i · x_i + (1 − λ_i) · x_partner(i)`` over the first axis of ``x`` ``(B, ...)``.

    ``lam`` and ``partner`` (``(B,)``, from :func:`draw_mixup`) are moved to ``x``'s device;
    samples with ``λ = 1`` come back unchanged.
    """
    lam = lam.to(device=x.device, dtype=torch.float32, non_blocking=True)
    lam = lam.view(-1, *([1] * (x.dim() - 1)))
    partner = partner.to(x.device, non_blocking=True)
    return (lam * x + (1 - lam) * x[partner]).to(x.dtype)
