"""AVDataPreprocessor: casting, ImageNet normalisation, multi-clip batches, mixup."""
import torch
from mmengine.dataset import pseudo_collate

from mavilkit.models.data_preprocessors import AVDataPreprocessor
from mavilkit.structures import AVDataSample


def _batch(batch_size=4, num_clips=1, num_classes=5):
    g = torch.Generator().manual_seed(0)
    samples = []
    for i in range(batch_size):
        video_shape = (3, 2, 4, 4) if num_clips == 1 else (num_clips, 3, 2, 4, 4)
        score = torch.zeros(num_classes)
        score[i % num_classes] = 1
        ds = AVDataSample(metainfo=dict(clip_index=i)).set_gt_label([i % num_classes])
        samples.append(dict(
            inputs=dict(audio=torch.randn(1, 8, 6, generator=g),
                        video=torch.randint(0, 256, video_shape, generator=g, dtype=torch.uint8)),
            data_samples=ds.set_gt_score(score)))
    return pseudo_collate(samples)


def test_normalisation_and_shapes():
    batch = _batch()
    raw_video = torch.stack(batch['inputs']['video'])
    out = AVDataPreprocessor()(batch, training=False)
    assert out['inputs']['audio'].shape == (4, 1, 8, 6)
    video = out['inputs']['video']
    assert video.shape == (4, 3, 2, 4, 4) and video.dtype == torch.float32
    expected_g = (raw_video[:, 1].float() - 116.28) / 57.12  # ImageNet green × 255
    assert torch.allclose(video[:, 1], expected_g, atol=1e-5)


def test_multi_clip_keeps_clip_axis():
    batch = _batch(batch_size=2, num_clips=3)
    raw = torch.stack(batch['inputs']['video'])
    out = AVDataPreprocessor()(batch)['inputs']['video']
    assert out.shape == (2, 3, 3, 2, 4, 4)
    assert torch.allclose(out[:, :, 0], (raw[:, :, 0].float() - 123.675) / 58.395, atol=1e-5)


def test_mixup_label_arithmetic():
    pre = AVDataPreprocessor(mixup_alpha=0.5)
    batch = _batch()
    audio = torch.stack(batch['inputs']['audio'])
    torch.manual_seed(0)
    video = (torch.stack(batch['inputs']['video']).float() - pre.mean) / pre.std
    inputs, samples = pre.batch_mixup(dict(audio=audio.clone(), video=video.clone()),
                                      batch['data_samples'], lam=0.7)
    torch.manual_seed(0)
    perm = torch.randperm(4)
    assert not torch.equal(perm, torch.arange(4))
    assert torch.allclose(inputs['audio'], 0.7 * audio + 0.3 * audio[perm])
    assert torch.allclose(inputs['video'], 0.7 * video + 0.3 * video[perm])
    mixed = torch.stack([s.gt_score for s in samples])
    for i in range(4):  # hand arithmetic per sample: 0.7 on its class, 0.3 on its partner's
        expected = torch.zeros(5)
        expected[i] += 0.7
        expected[int(perm[i])] += 0.3
        assert torch.allclose(mixed[i], expected)
    assert torch.allclose(mixed.sum(1), torch.ones(4))
    assert samples[0].mixup_lambda == 0.7


def test_mixup_only_in_training_and_beta_draw():
    pre = AVDataPreprocessor(mixup_alpha=0.5)
    batch = _batch()
    scores = torch.stack([s.gt_score for s in batch['data_samples']]).clone()
    pre(batch, training=False)
    assert torch.equal(torch.stack([s.gt_score for s in batch['data_samples']]), scores)
    torch.manual_seed(1)
    out = pre(_batch(), training=True)
    lam = out['data_samples'][0].mixup_lambda
    torch.manual_seed(1)
    assert lam == float(torch.distributions.Beta(0.5, 0.5).sample())
    assert all(s.mixup_lambda == lam for s in out['data_samples'])


def test_audio_only_batch():
    batch = _batch()
    del batch['inputs']['video']
    out = AVDataPreprocessor(mixup_alpha=1.)(batch, training=True)
    assert set(out['inputs']) == {'audio'} and out['inputs']['audio'].shape == (4, 1, 8, 6)
