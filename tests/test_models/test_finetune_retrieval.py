"""Retrieval model (zero-shot embeddings, fine-tuning loss) and the retrieval list dataset."""
import pytest
import torch

from mavilkit.registry import DATASETS, MODELS
from mavilkit.utils import register_all_modules

register_all_modules()

CFG = dict(type='AVRetriever',
           audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(160, 64)),
           video_backbone=dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32)),
           audio_mask_ratios=(0.2, 0.2), video_mask_ratios=(0.2, 0.2))


def test_zero_shot_embeddings_are_normalised_mean_pools():
    model = MODELS.build(CFG).eval()
    audio, video = torch.randn(3, 1, 160, 64), torch.randn(3, 2, 3, 4, 32, 32)  # 2 clips
    with torch.no_grad():
        samples = model(dict(audio=audio, video=video), mode='predict')
        a = model.audio_backbone(audio)[:, 1:].mean(1)
        v = torch.stack([model.video_backbone(video[:, k])[:, 1:].mean(1) for k in range(2)])
    v = v.mean(0)
    for i, s in enumerate(samples):
        assert torch.allclose(s.audio_embedding, a[i] / a[i].norm(), atol=1e-5)
        assert torch.allclose(s.video_embedding, v[i] / v[i].norm(), atol=1e-5)


def test_finetune_loss_is_symmetric_infonce():
    model = MODELS.build(dict(CFG, audio_mask_ratios=(0., 0.), video_mask_ratios=(0., 0.)))
    model.eval()  # no drop path; no masking with zero ratios
    audio, video = torch.randn(4, 1, 160, 64), torch.randn(4, 3, 4, 32, 32)
    out = model(dict(audio=audio, video=video), mode='loss')
    a = torch.nn.functional.normalize(model.audio_backbone(audio)[:, 1:].mean(1), dim=1)
    v = torch.nn.functional.normalize(model.video_backbone(video)[:, 1:].mean(1), dim=1)
    logits = a @ v.t() / 0.1
    labels = torch.arange(4)
    want = 0.5 * (torch.nn.functional.cross_entropy(logits, labels) +
                  torch.nn.functional.cross_entropy(logits.t(), labels))
    assert torch.allclose(out['loss_retrieval'], want, atol=1e-5)


def test_checkpoint_without_encoders_raises():
    model = MODELS.build(CFG)
    with pytest.raises(KeyError, match='audio_backbone'):
        model.load_state_dict({'decoder.weight': torch.zeros(1)}, strict=False)


@pytest.mark.slow
def test_retrieval_list_dataset(tmp_path):
    (tmp_path / 'videos').mkdir()
    for name in ('a.mp4', 'b.mp4'):
        (tmp_path / 'videos' / name).write_bytes(b'x')
    (tmp_path / 'b.wav').write_bytes(b'x')
    (tmp_path / 'list.txt').write_text('# clip video [audio]\n\nclipA a.mp4\nclipB b.mp4 b.wav\n')
    ds = DATASETS.build(dict(type='RetrievalListDataset', data_root=str(tmp_path),
                             ann_file='list.txt', data_prefix=dict(video='videos', audio=''),
                             pipeline=[]))
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [i['clip_id'] for i in infos] == ['clipA', 'clipB']
    assert infos[0]['filename'] == str(tmp_path / 'videos' / 'a.mp4')
    assert 'audio_path' not in infos[0] and infos[1]['audio_path'] == str(tmp_path / 'b.wav')
    (tmp_path / 'bad.txt').write_text('clipA a.mp4\nclipB\n')
    with pytest.raises(ValueError, match='bad.txt:2'):
        DATASETS.build(dict(type='RetrievalListDataset', data_root=str(tmp_path),
                            ann_file='bad.txt', data_prefix=dict(video='videos', audio='')))
    (tmp_path / 'dup.txt').write_text('clipA a.mp4\nclipA b.mp4\n')
    with pytest.raises(ValueError, match='repeats'):
        DATASETS.build(dict(type='RetrievalListDataset', data_root=str(tmp_path),
                            ann_file='dup.txt', data_prefix=dict(video='videos', audio='')))
