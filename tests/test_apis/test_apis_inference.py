"""mavilkit.apis inference: init_model, extract_features, inference_classifier, retrieve on real
demo clips, checked against the encoders and the formulas computed by hand; the user guide's
snippets run as written."""
import csv
import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from data_helpers import demo_dataset_cfg, make_demo_data, write_garbage
from mavilkit.apis import (InferenceInputError, extract_features, inference_classifier, init_model,
                           retrieve)
from mavilkit.registry import DATASETS, MODELS, TRANSFORMS
from mavilkit.utils import register_all_modules

register_all_modules()
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PIPELINE = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioFbank', target_length=192, num_mel_bins=64, mean=-4.4, std=4.2),
    dict(type='SampleVideoFrames', clip_len=4, frame_rate=2, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=32),
    dict(type='PackAVInputs'),
]
MODEL = dict(
    type='AVClassifier', modality='audio_video',
    audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(192, 64)),
    video_backbone=dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32)),
    head=dict(type='AVClsHead', num_classes=4, init_std=0.5))
CLASSES = ('w', 'x', 'y', 'z')


@pytest.fixture(scope='module')
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('inference')
    root = make_demo_data(tmp / 'demo', num_clips=12, duration=3., size=32)
    dataset = demo_dataset_cfg(root, PIPELINE, split='eval', test_mode=True)
    cfg = tmp / 'cfg.py'
    cfg.write_text(f'model = {MODEL!r}\ntest_dataloader = dict(dataset={dataset!r})\n')
    torch.manual_seed(0)
    model = MODELS.build(MODEL).eval()
    with torch.no_grad():  # norms and biases away from their initial 1 / 0
        for name, p in model.named_parameters():
            if 'norm' in name or name.endswith('bias'):
                p.add_(torch.randn_like(p) * 0.2)
    ckpt = tmp / 'ft.pth'
    torch.save(dict(state_dict=model.state_dict(), meta=dict(dataset_meta=dict(classes=CLASSES))),
               ckpt)
    ds = DATASETS.build(dataset)
    files = [ds.get_data_info(i)['filename'] for i in range(len(ds))]
    return dict(tmp=tmp, root=root, cfg=str(cfg), ckpt=str(ckpt), model=model, ds=ds,
                files=files)


def _layer_norm(x, norm):
    mu, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
    return (x - mu) / (var + 1e-6).sqrt() * norm.weight + norm.bias


def _by_hand(model, sample):
    """The A+V classifier's embeddings and logits from its parts (no masking, one clip)."""
    data = model.data_preprocessor(pseudo_collate([sample]), False)['inputs']
    a = model.audio_backbone(data['audio'])
    v = model.video_backbone(data['video'].flatten(0, 1) if data['video'].dim() == 6
                             else data['video'])
    fa, fv = model.fusion(a, v)
    fusion = _layer_norm(torch.cat([fa[:, 1:].mean(1), fv[:, 1:].mean(1)], 1), model.fc_norm)
    logits = fusion @ model.head.fc.weight.t() + model.head.fc.bias
    return dict(audio=a[0, 1:].mean(0), video=v[0, 1:].mean(0), fusion=fusion[0]), logits[0]


def test_init_model_loads_weights_and_class_names(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    assert not model.training and model.dataset_meta['classes'] == CLASSES
    for k, v in setup['model'].state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    # without class names in the checkpoint: those of the test dataset's label file
    bare = setup['tmp'] / 'bare.pth'
    torch.save(dict(state_dict=setup['model'].state_dict()), bare)
    with open(osp.join(setup['root'], 'class_labels_indices.csv')) as f:
        names = tuple(r['display_name'] for r in csv.DictReader(f))
    assert init_model(setup['cfg'], str(bare)).dataset_meta['classes'] == names
    # a checkpoint without the fusion is refused, naming it
    partial = setup['tmp'] / 'partial.pth'
    torch.save(dict(state_dict={k: v for k, v in setup['model'].state_dict().items()
                                if not k.startswith('fusion.')}), partial)
    with pytest.raises(KeyError, match='fusion'):
        init_model(setup['cfg'], str(partial))


def test_extract_features_batches_and_matches_the_encoders(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    files = setup['files'][:3]
    batched = extract_features(model, files, batch_size=2)
    assert len(batched) == 3 and set(batched[0]) == {'audio', 'video', 'fusion'}
    with torch.no_grad():
        for i, feats in enumerate(batched):
            want, _ = _by_hand(model, setup['ds'][i])
            for name in ('audio', 'video', 'fusion'):
                torch.testing.assert_close(feats[name], want[name], atol=1e-5, rtol=0)
    one = extract_features(model, files[1], batch_size=1)
    torch.testing.assert_close(one[0]['fusion'], batched[1]['fusion'], atol=1e-5, rtol=0)


def test_decoded_arrays_give_the_same_features(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    path = setup['files'][0]
    audio = TRANSFORMS.build(PIPELINE[0])(dict(filename=path))
    video = TRANSFORMS.build(PIPELINE[2])(dict(filename=path))
    arrays = dict(waveform=audio['waveform'], sample_rate=16000, imgs=video['imgs'])
    got = extract_features(model, arrays)[0]
    want = extract_features(model, path)[0]
    for name in want:
        torch.testing.assert_close(got[name], want[name], atol=1e-5, rtol=0)
    with pytest.raises(InferenceInputError, match='44100 Hz'):
        extract_features(model, dict(arrays, sample_rate=44100))
    with pytest.raises(InferenceInputError, match='clips of 4'):
        extract_features(model, dict(arrays, imgs=video['imgs'][:3]))


def test_unreadable_inputs_are_named(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    bad = write_garbage(setup['tmp'] / 'broken_clip.mp4', num_bytes=2000)
    with pytest.raises(InferenceInputError, match='broken_clip.mp4'):
        extract_features(model, [setup['files'][0], bad])
    with pytest.raises(InferenceInputError, match='nowhere.mp4'):
        inference_classifier(model, str(setup['tmp'] / 'nowhere.mp4'))


def test_decoded_inputs_missing_a_modality_or_read_by_a_reader_subclass(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    path = setup['files'][0]
    audio = TRANSFORMS.build(PIPELINE[0])(dict(filename=path))
    video = TRANSFORMS.build(PIPELINE[2])(dict(filename=path))
    # a list mixing a path and a waveform without frames, for an A+V model: named, with the fix
    with pytest.raises(InferenceInputError, match=r"input 1 .*has no video: give 'imgs'"):
        extract_features(model, [path, dict(waveform=audio['waveform'], sample_rate=16000)])
    with pytest.raises(InferenceInputError, match=r"input 0 .*has no audio: give 'waveform'"):
        extract_features(model, dict(imgs=video['imgs']))
    # a config reading video with SampleVideoFramesPyAV (a SampleVideoFrames subclass): decoded
    # frames skip that reader too, and give the features of the by-hand computation
    pyav = [dict(t, type='SampleVideoFramesPyAV') if t['type'] == 'SampleVideoFrames' else t
            for t in PIPELINE]
    dataset = demo_dataset_cfg(setup['root'], pyav, split='eval', test_mode=True)
    cfg = setup['tmp'] / 'cfg_pyav.py'
    cfg.write_text(f'model = {MODEL!r}\ntest_dataloader = dict(dataset={dataset!r})\n')
    got = extract_features(init_model(str(cfg), setup['ckpt']),
                           dict(waveform=audio['waveform'], sample_rate=16000,
                                imgs=video['imgs']))[0]
    with torch.no_grad():
        want, _ = _by_hand(model, setup['ds'][0])
    for name in ('audio', 'video', 'fusion'):
        torch.testing.assert_close(got[name], want[name], atol=1e-5, rtol=0)


def test_inference_classifier_top_k(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    results = inference_classifier(model, setup['files'][:2], topk=3, batch_size=2)
    with torch.no_grad():
        for i, result in enumerate(results):
            _, logits = _by_hand(model, setup['ds'][i])
            scores = torch.sigmoid(logits)
            order = torch.argsort(scores, descending=True)[:3].tolist()
            assert result['indices'] == order
            assert result['labels'] == [CLASSES[j] for j in order]
            np.testing.assert_allclose(result['scores'], scores[order].numpy(), atol=1e-5)
    single = inference_classifier(model, setup['files'][0], topk=2)
    assert single['indices'] == results[0]['indices'][:2]


def test_retrieve_ranks_by_cosine_similarity(setup):
    model = init_model(setup['cfg'], setup['ckpt'])
    files = setup['files'][:3]
    feats = extract_features(model, files)
    audio = np.stack([f['audio'].numpy() for f in feats])
    video = np.stack([f['video'].numpy() for f in feats])
    audio /= np.linalg.norm(audio, axis=1, keepdims=True)
    video /= np.linalg.norm(video, axis=1, keepdims=True)
    sims = audio @ video.T
    a2v = retrieve(model, files, files, direction='a2v', topk=3)
    v2a = retrieve(model, files, files, direction='v2a', topk=2)
    for q in range(3):
        assert a2v[q]['indices'] == list(np.argsort(-sims[q]))
        np.testing.assert_allclose(a2v[q]['scores'], np.sort(sims[q])[::-1], atol=1e-5)
        assert v2a[q]['indices'] == list(np.argsort(-sims[:, q])[:2])
    with pytest.raises(ValueError, match='direction'):
        retrieve(model, files, files, direction='a2a')


def test_pretrained_mavil_features(tmp_path, setup):
    cfg = tmp_path / 'mavil.py'
    mavil = dict(type='MAViL', audio_backbone=MODEL['audio_backbone'],
                 video_backbone=MODEL['video_backbone'],
                 audio_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2),
                 video_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2))
    # a pre-training config: no test dataloader, the test view as a `test_pipeline` variable
    cfg.write_text(f'model = {mavil!r}\ntest_pipeline = {PIPELINE!r}\n')
    torch.manual_seed(1)
    built = MODELS.build(mavil)
    ckpt = tmp_path / 'm.pth'  # encoders and fusion only, as a converted release
    torch.save(dict(state_dict={k: v for k, v in built.state_dict().items()
                                if 'decoder' not in k}), ckpt)
    model = init_model(str(cfg), str(ckpt))
    feats = extract_features(model, setup['files'][0])[0]
    data = model.data_preprocessor(pseudo_collate([setup['ds'][0]]), False)['inputs']
    with torch.no_grad():
        a, v = model.audio_backbone(data['audio']), model.video_backbone(data['video'])
        fa, fv = model.neck(a, v)
    torch.testing.assert_close(feats['audio'], a[0, 1:].mean(0), atol=1e-5, rtol=0)
    torch.testing.assert_close(feats['fusion'], torch.cat([fa[0, 1:].mean(0),
                                                           fv[0, 1:].mean(0)]), atol=1e-5, rtol=0)


def test_user_guide_snippets_run(setup, tmp_path, monkeypatch):
    """docs/en/user_guides/inference.md, block by block, on a demo layout in a temporary folder."""
    from mmengine.config import Config
    root = make_demo_data(tmp_path / 'data' / 'demo', num_clips=8, duration=3., size=32)
    assert root
    os.symlink(osp.join(REPO, 'configs'), tmp_path / 'configs')
    monkeypatch.chdir(tmp_path)
    cfg = Config.fromfile('configs/demo/finetune-av_demo.py')
    model_cfg = dict(cfg.model)
    model_cfg.pop('init_cfg')
    torch.manual_seed(0)
    model = MODELS.build(model_cfg)
    os.makedirs('work_dirs/finetune-av_demo')
    torch.save(dict(state_dict=model.state_dict()), 'work_dirs/finetune-av_demo/epoch_8.pth')
    with open(osp.join(REPO, 'docs', 'en', 'user_guides', 'inference.md')) as f:
        blocks = re.findall(r'```python\n(.*?)```', f.read(), flags=re.S)
    assert len(blocks) == 5
    namespace = {}
    for block in blocks:
        exec(compile(block, 'inference.md', 'exec'), namespace)
    assert len(namespace['features']) == 2 and namespace['model'].dataset_meta['classes']
    assert namespace['ranking'][0]['indices'][0] in (0, 1)
    assert len(namespace['result']['labels']) == 1
