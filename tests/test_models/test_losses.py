"""Masked reconstruction loss (Eq. 1) and InfoNCE (Eq. 2) against hand computations."""
import math

import pytest
import torch

from mavilkit.models.losses import InfoNCELoss, MaskedReconstructionLoss, contrastive_accuracy


def _infonce_by_hand(x, y, tau):
    """Eq. 2 written out with explicit loops over the batch."""
    batch = x.shape[0]
    total = 0.0
    for i in range(batch):
        sims = []
        for j in range(batch):
            xi, yj = x[i].tolist(), y[j].tolist()
            dot = sum(a * b for a, b in zip(xi, yj))
            norm = math.sqrt(sum(a * a for a in xi)) * math.sqrt(sum(b * b for b in yj))
            sims.append(dot / norm / tau)
        peak = max(sims)
        log_denominator = peak + math.log(sum(math.exp(s - peak) for s in sims))
        total += -(sims[i] - log_denominator)
    return total / batch


@pytest.mark.parametrize('tau', [0.1, 1.0])
def test_infonce_matches_eq2(tau):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 7, generator=gen, dtype=torch.float64)
    y = torch.randn(5, 7, generator=gen, dtype=torch.float64)
    loss = InfoNCELoss(temperature=tau)(x, y)
    assert loss.item() == pytest.approx(_infonce_by_hand(x, y, tau), rel=1e-5)
    # Eq. 2 is one-directional: swapping the roles changes the value.
    assert InfoNCELoss(tau)(y, x).item() == pytest.approx(_infonce_by_hand(y, x, tau), rel=1e-5)
    sym = InfoNCELoss(tau, symmetric=True)(x, y).item()
    expected = 0.5 * (_infonce_by_hand(x, y, tau) + _infonce_by_hand(y, x, tau))
    assert sym == pytest.approx(expected, rel=1e-5)
    # α and β have one knob, MAViL's inter_weight / intra_weight
    # (tests/test_models/test_models_mavil.py checks loss_inter = 0.1 · Eq. 2); the loss itself
    # takes no weight.
    with pytest.raises(TypeError, match='loss_weight'):
        InfoNCELoss(tau, loss_weight=0.1)


def test_infonce_is_scale_invariant():
    """Cosine similarity: rescaling an embedding changes nothing."""
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(4, 6, generator=gen), torch.randn(4, 6, generator=gen)
    loss = InfoNCELoss(0.1)
    scale = torch.tensor([[0.5], [3.0], [10.0], [0.01]])
    assert loss(x * scale, y).item() == pytest.approx(loss(x, y).item(), rel=1e-5)


def test_aligned_pairs_give_near_minimal_loss():
    batch, tau = 6, 0.1
    x = torch.eye(batch, 8)  # orthonormal: positives have S = 1, negatives S = 0
    loss = InfoNCELoss(tau)(x, x.clone()).item()
    # hand value: -log(e^{1/τ} / (e^{1/τ} + (B-1) e^0))
    assert loss == pytest.approx(math.log(1 + (batch - 1) * math.exp(-1 / tau)), abs=1e-7)
    assert loss < 1e-3
    # The lowest value Eq. 2 can take: negatives on a regular simplex, S = -1/(B-1).
    floor = math.log(1 + (batch - 1) * math.exp((-1 / (batch - 1) - 1) / tau))
    assert floor <= loss
    # Misaligned pairs (a cyclic shift): the positive has S = 0, one negative S = 1, the other
    # B - 2 negatives S = 0 → -log(e^0 / (e^{1/τ} + (B-1) e^0)).
    shifted = InfoNCELoss(tau)(x, x.roll(1, dims=0)).item()
    assert shifted == pytest.approx(math.log(math.exp(1 / tau) + batch - 1), rel=1e-5)


def test_infonce_accuracy():
    x = torch.eye(4)
    y = torch.eye(4)[[0, 1, 3, 2]]  # rows 2 and 3 point at each other's partner
    loss, acc = InfoNCELoss(0.1)(x, y, with_accuracy=True)
    assert acc.item() == pytest.approx(50.0)
    assert not acc.requires_grad
    logits = torch.tensor([[0.9, 0.1], [0.8, 0.2]])
    assert contrastive_accuracy(logits, torch.tensor([0, 0])).item() == pytest.approx(100.0)
    assert contrastive_accuracy(logits, torch.tensor([1, 1])).item() == pytest.approx(0.0)


def test_infonce_rejects_bad_shapes():
    with pytest.raises(ValueError, match='same shape'):
        InfoNCELoss(0.1)(torch.randn(4, 8), torch.randn(3, 8))
    with pytest.raises(ValueError, match='temperature'):
        InfoNCELoss(0.0)


def test_masked_mse_hand_value_and_ignores_visible():
    pred = torch.tensor([[[1., 1.], [2., 0.], [0., 0.]],
                         [[3., 3.], [0., 4.], [1., 1.]]])
    target = torch.zeros(2, 3, 2)
    mask = torch.tensor([[1, 0, 1], [0, 1, 1]])
    # masked patches: (0,0): (1+1)/2 = 1; (0,2): 0; (1,1): 16/2 = 8; (1,2): 1 → mean 10/4
    loss_fn = MaskedReconstructionLoss()
    assert loss_fn(pred, target, mask).item() == pytest.approx(2.5)

    changed = pred.clone()
    changed[0, 1] = 100.
    changed[1, 0] = -50.  # visible patches only
    assert loss_fn(changed, target, mask).item() == pytest.approx(2.5)

    pred = pred.clone().requires_grad_()
    loss_fn(pred, target, mask).backward()
    assert torch.all(pred.grad[0, 1] == 0) and torch.all(pred.grad[1, 0] == 0)
    assert pred.grad[1, 1].abs().sum() > 0
    assert MaskedReconstructionLoss(loss_weight=0.5)(pred, target, mask).item() == \
        pytest.approx(1.25)


def test_masked_mse_edge_cases():
    loss_fn = MaskedReconstructionLoss()
    pred = torch.randn(2, 4, 3)
    assert loss_fn(pred, torch.zeros_like(pred), torch.zeros(2, 4)).item() == 0.0
    with pytest.raises(ValueError, match='target shape'):
        loss_fn(pred, torch.zeros(2, 4, 5), torch.ones(2, 4))
    with pytest.raises(ValueError, match='mask shape'):
        loss_fn(pred, torch.zeros_like(pred), torch.ones(2, 5))


def test_infonce_warns_once_without_negatives():
    """A (global) batch of 1 has no negatives: loss exactly 0, accuracy 100; warned once."""
    import logging

    from mmengine.logging import MMLogger

    logger = MMLogger.get_instance('test_infonce_no_negatives')  # becomes the current logger
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        loss_fn = InfoNCELoss(temperature=0.1)
        for _ in range(3):
            loss, acc = loss_fn(torch.randn(1, 8), torch.randn(1, 8), with_accuracy=True)
            # softmax over one candidate is 1: -log 1 = 0 whatever the embeddings
            assert loss.item() == 0 and acc.item() == 100
        warnings = [r for r in records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and 'no negatives' in warnings[0].getMessage()
        records.clear()
        loss_fn(torch.randn(2, 8), torch.randn(2, 8))  # two samples: nothing to warn about
        InfoNCELoss(temperature=0.1)(torch.randn(4, 8), torch.randn(4, 8))
        assert not records
    finally:
        logger.removeHandler(handler)
