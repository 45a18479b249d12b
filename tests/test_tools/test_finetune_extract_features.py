"""tools/analysis/extract_features.py on real demo clips: pooled audio / video / fusion embeddings,
clip ids and multi-hot labels, checked against the encoders called directly and the CSV."""
import csv
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from data_helpers import demo_dataset_cfg, make_demo_data, write_mp4
from mavilkit.registry import DATASETS, MODELS
from mavilkit.utils import register_all_modules
from tool_helpers import load_tool

extract_features = load_tool('tools/analysis/extract_features.py')

register_all_modules()

PIPELINE = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioFbank', target_length=192, num_mel_bins=64, mean=-4.4, std=4.2),
    dict(type='SampleVideoFrames', clip_len=4, frame_rate=2, num_clips=2, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=32),
    dict(type='PackAVInputs'),
]
MODEL = dict(
    type='AVClassifier', modality='audio_video',
    audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(192, 64)),
    video_backbone=dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32)),
    head=dict(type='AVClsHead', num_classes=4))

CONFIG = """model = {model!r}
test_dataloader = dict(batch_size=3, num_workers=0,
                       sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset={dataset!r})
"""


def test_extract_features_av_classifier(tmp_path):
    root = make_demo_data(tmp_path / 'demo', num_clips=20, duration=3., size=32)  # 5 eval clips
    dataset = demo_dataset_cfg(root, PIPELINE, split='eval', test_mode=True)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CONFIG.format(model=MODEL, dataset=dataset))
    torch.manual_seed(0)
    model = MODELS.build(MODEL).eval()
    ckpt = tmp_path / 'ft.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'feats.npz'
    extract_features.main([str(cfg), str(ckpt), '--out', str(out), '--device', 'cpu'])
    feats = np.load(out)

    # clip ids and labels straight from the annotation CSV
    with open(osp.join(root, 'class_labels_indices.csv')) as f:
        mids = {r['mid']: int(r['index']) for r in csv.DictReader(f)}
    with open(osp.join(root, 'eval_segments.csv')) as f:
        rows = [r for r in csv.reader(f, skipinitialspace=True) if r and not r[0].startswith('#')]
    assert len(rows) == 5 and feats['audio'].shape == (5, 64) and feats['fusion'].shape == (5, 128)
    assert list(feats['clip_index']) == list(range(5))
    for i, row in enumerate(rows):
        assert row[0] in str(feats['clip_ids'][i])
        want = np.zeros(4, np.float32)
        want[[mids[m] for m in row[3].split(',')]] = 1
        np.testing.assert_array_equal(feats['labels'][i], want)

    # embeddings: the encoders called directly (no final norm: global-pool classifier), mean over
    # tokens without CLS, clips averaged
    ds = DATASETS.build(dataset)
    for i in (0, 4):
        data = model.data_preprocessor(pseudo_collate([ds[i]]), False)
        with torch.no_grad():
            a_tok = model.audio_backbone(data['inputs']['audio'])
            v_tok = model.video_backbone(data['inputs']['video'][0])  # (K=2, 1 + L, D)
            a_fused, v_fused = model.fusion(a_tok.expand(2, -1, -1), v_tok)
        np.testing.assert_allclose(feats['audio'][i], a_tok[0, 1:].mean(0).numpy(), atol=1e-5)
        np.testing.assert_allclose(feats['video'][i], v_tok[:, 1:].mean(1).mean(0).numpy(),
                                   atol=1e-5)
        # the head's input: per clip, the concatenated pools through fc_norm (a LayerNorm)
        pooled = torch.cat([a_fused[:, 1:].mean(1), v_fused[:, 1:].mean(1)], 1)
        mu, var = pooled.mean(1, keepdim=True), pooled.var(1, unbiased=False, keepdim=True)
        fusion = ((pooled - mu) / (var + 1e-6).sqrt() * model.fc_norm.weight
                  + model.fc_norm.bias).mean(0)
        np.testing.assert_allclose(feats['fusion'][i], fusion.detach().numpy(), atol=1e-5)


def test_extract_features_refuses_a_checkpoint_without_the_fusion(tmp_path):
    root = make_demo_data(tmp_path / 'demo', num_clips=4, duration=3., size=32)
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CONFIG.format(model=MODEL, dataset=demo_dataset_cfg(
        root, PIPELINE, split='eval', test_mode=True)))
    model = MODELS.build(MODEL)
    ckpt = tmp_path / 'encoders_only.pth'  # like a pre-training checkpoint: encoders, no fusion
    torch.save(dict(state_dict={k: v for k, v in model.state_dict().items()
                                if k.startswith(('audio_backbone.', 'video_backbone.'))}), ckpt)
    with pytest.raises(SystemExit, match='fusion'):
        extract_features.main([str(cfg), str(ckpt), '--out', str(tmp_path / 'f.npz'),
                               '--device', 'cpu'])


def test_extract_features_lists_unreadable_clips_and_writes_no_substitute(tmp_path, capsys):
    root = make_demo_data(tmp_path / 'demo', num_clips=12, duration=3., size=32)  # 3 eval clips
    dataset = demo_dataset_cfg(root, PIPELINE, split='eval', test_mode=True)
    ds = DATASETS.build(dataset)
    assert len(ds) == 3
    infos = [ds.get_data_info(i) for i in range(3)]
    write_mp4(infos[1]['filename'], duration=3., with_audio=False)  # clip 1 loses its audio
    cfg = tmp_path / 'cfg.py'
    cfg.write_text(CONFIG.format(model=MODEL, dataset=dataset))
    torch.manual_seed(0)
    model = MODELS.build(MODEL).eval()
    ckpt = tmp_path / 'ft.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    out = tmp_path / 'feats.npz'
    extract_features.main([str(cfg), str(ckpt), '--out', str(out), '--device', 'cpu'])
    feats = np.load(out)
    # clips 0 and 2, each once, under their own names; clip 1 listed with its reason
    assert list(feats['clip_index']) == [0, 2]
    assert list(feats['clip_ids']) == [infos[0]['clip_id'], infos[2]['clip_id']]
    assert list(feats['clip_uid']) == [infos[0]['filename'], infos[2]['filename']]
    assert feats['audio'].shape == (2, 64)
    assert list(feats['unreadable_clip_ids']) == [infos[1]['clip_id']]
    assert list(feats['unreadable_paths']) == [infos[1]['filename']]
    assert 'audio' in str(feats['unreadable_reasons'][0])
    printed = capsys.readouterr().out
    assert 'Wrote 2 clips' in printed and '1 clips could not be read' in printed
    assert infos[1]['clip_id'] in printed
    # the row of clip 2 holds clip 2's embedding
    data = model.data_preprocessor(pseudo_collate([ds[2]]), False)
    with torch.no_grad():
        a_tok = model.audio_backbone(data['inputs']['audio'])
    np.testing.assert_allclose(feats['audio'][1], a_tok[0, 1:].mean(0).numpy(), atol=1e-5)
