"""Metrics against hand computations and a loop-based reference (no sklearn)."""

import pytest
import torch

from mavilkit.evaluation.metrics import (Accuracy, AudioSetMAP, RetrievalRecall, average_precision,
                                         retrieval_ranks)


def reference_ap(scores, targets):
    """AP = Σ (R_n − R_{n−1}) P_n over distinct thresholds, written as a plain loop."""
    pairs = sorted(zip(scores, targets), key=lambda p: -p[0])
    num_pos = sum(targets)
    ap, prev_recall = 0., 0.
    for threshold in sorted(set(scores), reverse=True):
        selected = [t for s, t in pairs if s >= threshold]
        tp = sum(selected)
        recall, precision = tp / num_pos, tp / len(selected)
        ap += (recall - prev_recall) * precision
        prev_recall = recall
    return ap


def test_ap_hand_computed():
    # ranking: + - + - ; precision at the positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2
    scores = torch.tensor([[0.9], [0.8], [0.7], [0.1]])
    targets = torch.tensor([[1], [0], [1], [0]])
    assert average_precision(scores, targets).item() == pytest.approx((1 + 2 / 3) / 2)
    # perfect ranking -> 1; worst ranking of 1 positive among 4 -> 1/4
    assert average_precision(torch.tensor([[3.], [2.], [1.], [0.]]),
                             torch.tensor([[1], [1], [0], [0]])).item() == pytest.approx(1.)
    assert average_precision(torch.tensor([[3.], [2.], [1.], [0.]]),
                             torch.tensor([[0], [0], [0], [1]])).item() == pytest.approx(0.25)


def test_ap_ties_enter_together():
    # all four scores tied: one threshold, recall 1, precision 2/4 -> AP 0.5 whatever the order
    scores = torch.full((4, 1), 0.3)
    for targets in ([1, 1, 0, 0], [0, 0, 1, 1]):
        ap = average_precision(scores, torch.tensor(targets).unsqueeze(1))
        assert ap.item() == pytest.approx(0.5)


def test_ap_matches_reference_random():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 6, (40, 7), generator=g).float() / 5  # many ties
    targets = (torch.rand(40, 7, generator=g) < 0.3).long()
    targets[0] = 1  # every class has a positive
    ap = average_precision(scores, targets)
    for c in range(7):
        assert ap[c].item() == pytest.approx(
            reference_ap(scores[:, c].tolist(), targets[:, c].tolist()), abs=1e-12)


def _samples(scores, labels, start=0):
    return [dict(pred_score=torch.as_tensor(s, dtype=torch.float), gt_label=torch.tensor(l),
                 clip_index=start + i) for i, (s, l) in enumerate(zip(scores, labels))]


def test_map_metric_excludes_classes_without_positives():
    metric = AudioSetMAP()
    # class 0: + - -  (AP 1); class 1: - + + scored [.2 .9 .1] -> positives at ranks 1, 3: (1+2/3)/2
    # class 2: no positive -> excluded
    scores = [[0.9, 0.2, 0.5], [0.1, 0.9, 0.4], [0.3, 0.1, 0.6]]
    labels = [[0], [1], [1]]
    metric.process(None, _samples(scores, labels))
    out = metric.evaluate(3)
    assert out['audioset/mAP'] == pytest.approx(100 * (1 + (1 + 2 / 3) / 2) / 2)
    assert out['audioset/num_classes_without_positives'] == 1


def test_map_metric_drops_duplicate_clip_index():
    metric = AudioSetMAP()
    samples = _samples([[0.9, 0.1], [0.2, 0.8]], [[0], [1]])
    # a wrong duplicate of clip 0 that would spoil class 0's ranking if it were counted
    metric.process(None, samples + [dict(pred_score=torch.tensor([0.0, 0.9]),
                                         gt_label=torch.tensor([0]), clip_index=0)])
    assert metric.compute_metrics(metric.results)['mAP'] == pytest.approx(100.)


def test_accuracy_topk():
    metric = Accuracy(topk=(1, 2))
    scores = [[0.5, 0.3, 0.2], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]
    labels = [[0], [1], [2], [2]]
    # top-1 hits: sample 0 only -> 25 %; top-2 hits: samples 0, 1 (0.3 second), 2 (0.3 second)
    metric.process(None, _samples(scores, labels))
    out = metric.evaluate(4)
    assert out['accuracy/top1'] == pytest.approx(25.)
    assert out['accuracy/top2'] == pytest.approx(75.)


def test_retrieval_ranks_on_built_similarity():
    sim = torch.tensor([[0.9, 0.1, 0.5],    # query 0: positive best -> rank 1
                        [0.8, 0.2, 0.7],    # query 1: 0.8, 0.7 above 0.2 -> rank 3
                        [0.1, 0.6, 0.6]])   # query 2: tie with item 1 counts against -> rank 2
    assert retrieval_ranks(sim).tolist() == [1, 3, 2]
    assert retrieval_ranks(sim.t()).tolist() == [1, 2, 2]  # columns as queries


def _angle_metric(audio_angles, video_angles, topk):
    def to_vec(a):
        return torch.stack([a.cos(), a.sin()], dim=1) * 3  # norm != 1 on purpose
    metric = RetrievalRecall(topk=topk)
    metric.process(None, [dict(audio_embedding=a, video_embedding=v, clip_index=i)
                          for i, (a, v) in enumerate(zip(to_vec(audio_angles),
                                                         to_vec(video_angles)))])
    return metric.evaluate(len(audio_angles))


def test_retrieval_metric_recall_and_median():
    # unit vectors in 2-D at chosen angles: cosine similarity decreases with the angle difference
    audio_angles = torch.tensor([0.0, 1.0, 2.0, 3.0])
    video_angles = torch.tensor([0.1, 1.7, 2.4, 3.0])
    diff = (audio_angles[:, None] - video_angles[None]).abs()
    ranks_a2v = [(diff[i] <= diff[i, i]).sum().item() for i in range(4)]
    ranks_v2a = [(diff[:, i] <= diff[i, i]).sum().item() for i in range(4)]
    assert ranks_a2v == [1, 1, 2, 1] and ranks_v2a == [1, 2, 1, 1]  # checked by hand
    out = _angle_metric(audio_angles, video_angles, topk=(1, 2))
    assert out['retrieval/a2v_R@1'] == pytest.approx(75.)
    assert out['retrieval/a2v_R@2'] == pytest.approx(100.)
    assert out['retrieval/v2a_R@1'] == pytest.approx(75.)
    assert out['retrieval/a2v_MedR'] == pytest.approx(1.)
    # two queries ranked 1 and 2: the median of an even count is their mean, 1.5
    out = _angle_metric(torch.tensor([0.0, 1.0]), torch.tensor([0.1, -0.5]), topk=(1, ))
    assert out['retrieval/a2v_MedR'] == pytest.approx(1.5)
    assert out['retrieval/a2v_R@1'] == pytest.approx(50.)


def test_metric_rejects_missing_keys():
    with pytest.raises(KeyError, match='pred_score'):
        AudioSetMAP().process(None, [dict(gt_label=torch.tensor([0]))])
    with pytest.raises(KeyError, match='audio_embedding'):
        RetrievalRecall().process(None, [dict(video_embedding=torch.zeros(2))])
    with pytest.raises(ValueError, match='outside'):
        metric = Accuracy()
        metric.process(None, _samples([[0.1, 0.9]], [[4]]))
        metric.compute_metrics(metric.results)
