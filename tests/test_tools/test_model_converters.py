"""Converters of public checkpoints (tools/model_converters/): parity with independent references.

Each test writes a small seeded checkpoint in the foreign layout, converts it with the converter's
command line (checked against a small mavilkit config), loads the result into the mavilkit model
of that config and requires its outputs to equal the plain-PyTorch reference of
``tests/foreign_models.py`` within 1e-5 (fp32).
"""
import os.path as osp

import pytest
import torch

import foreign_models as ref
from mavilkit.models.utils.checkpoint import load_checked
from mavilkit.models.utils.conversion import NotThisKindError
from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules
from tool_helpers import load_tool

register_all_modules()
audio_mae = load_tool('tools/model_converters/audio_mae.py')
cav_mae = load_tool('tools/model_converters/cav_mae.py')
imagenet_mae = load_tool('tools/model_converters/imagenet_mae.py')
mavil_release = load_tool('tools/model_converters/mavil_release.py')

D, HEADS, DEPTH = 32, 4, 2
ARCH = dict(embed_dims=D, num_layers=DEPTH, num_heads=HEADS)
AUDIO_SIZE, VIDEO_SIZE = (64, 32), (4, 32, 32)      # grids 4 x 2 and 2 x 2 x 2
ATOL = 1e-5


def close(got, want):
    torch.testing.assert_close(got, want, atol=ATOL, rtol=0)


def write_config(tmp_path, name, model: dict) -> str:
    path = tmp_path / f'{name}.py'
    path.write_text(f'model = {model!r}\n')
    return str(path)


def backbone(kind, final_norm, **kw):
    size = AUDIO_SIZE if kind == 'AudioViT' else VIDEO_SIZE
    patch = 16 if kind == 'AudioViT' else (2, 16, 16)
    return dict(dict(type=kind, arch=ARCH, input_size=size, patch_size=patch,
                     final_norm=final_norm), **kw)


def mavil_cfg(final_norm, neck_layers=2, neck_norm=None, arch=ARCH):
    audio, video = backbone('AudioViT', final_norm), backbone('VideoViT', final_norm)
    audio['arch'] = video['arch'] = arch
    return dict(type='MAViL', audio_backbone=audio, video_backbone=video,
                neck=dict(type='VanillaFusion', num_layers=neck_layers,
                          final_norm=final_norm if neck_norm is None else neck_norm),
                audio_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2),
                video_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2))


def load(cfg_path, ckpt, expect_missing=()):
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(cfg_path).model).eval()
    state = torch.load(ckpt, map_location='cpu')['state_dict']
    # A converted file may lack whole parts (e.g. decoders the source never had), which a
    # whole-model load refuses; load_checked applies the partial-start policy instead.
    report = load_checked(model, state, source=str(ckpt))
    assert not report.unexpected and not report.mismatched
    missing = {k.split('.')[0] for k in report.missing}
    assert missing <= set(expect_missing), missing
    return model


def inputs(seed=0, batch=2):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(batch, 1, *AUDIO_SIZE, generator=g),
            torch.randn(batch, 3, *VIDEO_SIZE, generator=g))


def save_foreign(tmp_path, weights, name='foreign.pth', wrap='model'):
    path = tmp_path / name
    torch.save({wrap: ref.as_state(weights)} if wrap else ref.as_state(weights), path)
    return str(path)


def release(variant, seed=1):
    return ref.release_weights(seed, D, DEPTH, 3 if variant == 'ft_av' else 2, (16, 16), 8,
                               (2, 16, 16), 8, variant=variant)


# ----------------------------------------------------------------------------- MAViL release
def test_release_pretrained_parity(tmp_path, capsys):
    p = release('pretrain')
    src = save_foreign(tmp_path, p)
    cfg = write_config(tmp_path, 'release', mavil_cfg(final_norm=False))
    dst = str(tmp_path / 'out.pth')
    report = mavil_release.main([src, dst, '--config', cfg])
    assert not report.dropped and len(report.mapped) == len(p)
    assert {k.split('.')[0] for k in report.missing} == {'audio_decoder', 'video_decoder'}
    assert 'missing:' in capsys.readouterr().out
    model = load(cfg, dst, expect_missing=('audio_decoder', 'video_decoder'))
    audio, video = inputs()
    want = ref.release_forward(p, audio, video, DEPTH, 2, HEADS)
    with torch.no_grad():
        close(model.audio_backbone(audio), want['audio'])
        close(model.video_backbone(video), want['video'])
        feats = model.extract_feat(dict(audio=audio, video=video))
    close(feats['audio_fused'], want['audio_fused'][:, 1:])
    close(feats['video_fused'], want['video_fused'][:, 1:])


def test_release_av_finetuned_parity(tmp_path):
    p = release('ft_av')
    src = save_foreign(tmp_path, p)
    cfg = write_config(tmp_path, 'ft', dict(
        type='AVClassifier', modality='audio_video', audio_backbone=backbone('AudioViT', False),
        video_backbone=backbone('VideoViT', False),
        fusion=dict(type='VanillaFusion', num_layers=3),
        head=dict(type='AVClsHead', num_classes=5)))
    dst = str(tmp_path / 'out.pth')
    report = mavil_release.main([src, dst, '--config', cfg])
    assert not report.missing and not report.dropped
    model = load(cfg, dst)
    audio, video = inputs(1)
    want = ref.release_forward(p, audio, video, DEPTH, 3, HEADS)
    with torch.no_grad():
        close(model(dict(audio=audio, video=video), mode='tensor'), want['logits'])
        a, v = model.fusion(model.audio_backbone(audio), model.video_backbone(video))
    close(a, want['audio_fused'])
    close(v, want['video_fused'])


@pytest.mark.parametrize('modality', ['audio', 'video'])
def test_release_separate_finetuned_parity(tmp_path, modality):
    p = release('ft_a_v')
    src = save_foreign(tmp_path, p)
    kind = 'AudioViT' if modality == 'audio' else 'VideoViT'
    cfg = write_config(tmp_path, 'ft', {
        'type': 'AVClassifier', 'modality': modality,
        f'{modality}_backbone': backbone(kind, False),
        'head': dict(type='AVClsHead', num_classes=5)})
    dst = str(tmp_path / 'out.pth')
    with pytest.raises(ValueError, match='--modality'):
        mavil_release.main([src, dst, '--config', cfg])
    report = mavil_release.main([src, dst, '--config', cfg, '--modality', modality])
    other = 'video' if modality == 'audio' else 'audio'
    assert all(f'--modality {other}' in r for r in report.dropped.values())
    model = load(cfg, dst)
    audio, video = inputs(2)
    want = ref.release_forward(p, audio, video, DEPTH, 0, HEADS)
    with torch.no_grad():
        got = model({modality: audio if modality == 'audio' else video}, mode='tensor')
    close(got, want[f'logits_{modality}'])


def test_converters_refuse_other_kinds(tmp_path):
    release_file = save_foreign(tmp_path, release('pretrain'), 'release.pth')
    image_file = save_foreign(tmp_path, ref.mae_weights(3, D, DEPTH, 3, (16, 16), 4), 'mae.pth')
    audio_file = save_foreign(tmp_path, ref.mae_weights(3, D, DEPTH, 1, (16, 16), 8), 'amae.pth')
    cfg = write_config(tmp_path, 'release', mavil_cfg(final_norm=False))
    out = str(tmp_path / 'x.pth')
    for tool, wrong in ((mavil_release, image_file), (audio_mae, release_file),
                        (audio_mae, image_file), (imagenet_mae, audio_file),
                        (cav_mae, release_file)):
        with pytest.raises(NotThisKindError, match=r'mae\.pth|release\.pth|amae\.pth'):
            tool.main([wrong, out, '--config', cfg])
    notes = tmp_path / 'notes.pth'
    torch.save({'epoch': 3}, notes)
    with pytest.raises(NotThisKindError, match='notes.pth'):
        mavil_release.main([str(notes), out, '--config', cfg])


def test_config_mismatch_is_reported(tmp_path):
    src = save_foreign(tmp_path, release('pretrain'))
    # a mavilkit default (final norms) config: the release's tensors fit, the norms are missing;
    # a deeper encoder is a shape/key mismatch and must raise
    deeper = write_config(tmp_path, 'deep', mavil_cfg(False, arch=dict(ARCH, num_layers=3)))
    report = mavil_release.main([src, str(tmp_path / 'a.pth'), '--config', deeper])
    assert any(k.startswith('audio_backbone.blocks.2.') for k in report.missing)
    shallow = write_config(tmp_path, 'shallow', mavil_cfg(False, arch=dict(ARCH, num_layers=1)))
    with pytest.raises(ValueError, match='no place in the model'):
        mavil_release.main([src, str(tmp_path / 'b.pth'), '--config', shallow])


# ----------------------------------------------------------------------------- Audio-MAE
def test_audio_mae_pretrained_parity_encoder_and_decoder(tmp_path):
    p = ref.mae_weights(4, D, DEPTH, 1, (16, 16), 8, decoder=dict(dims=16, depth=2, out=256))
    src = save_foreign(tmp_path, p)
    cfg_model = mavil_cfg(final_norm=True)
    cfg_model['audio_decoder'] = dict(type='MAEDecoder', embed_dims=16, num_layers=2, num_heads=2)
    cfg = write_config(tmp_path, 'amae', cfg_model)
    dst = str(tmp_path / 'out.pth')
    report = audio_mae.main([src, dst, '--config', cfg])
    assert not report.dropped
    assert {k.split('.')[0] for k in report.missing} == {'video_backbone', 'neck',
                                                         'video_decoder'}
    model = load(cfg, dst, expect_missing=('video_backbone', 'neck', 'video_decoder'))
    audio, _ = inputs(3)
    ids_keep = torch.tensor([[5, 0, 3], [7, 2, 6]])
    rest = [[i for i in range(8) if i not in row] for row in ids_keep.tolist()]
    ids_restore = torch.argsort(torch.tensor([k + r for k, r in zip(ids_keep.tolist(), rest)]), 1)
    with torch.no_grad():
        latent = model.audio_backbone(audio, ids_keep)
        close(latent, ref.mae_encoder(p, audio, DEPTH, HEADS, ids_keep))
        close(model.audio_backbone(audio), ref.mae_encoder(p, audio, DEPTH, HEADS))
        close(model.audio_decoder(latent, ids_restore),
              ref.mae_decoder(p, latent, ids_restore, 2, 2))


def test_audio_mae_swin_decoder_is_dropped_with_reason(tmp_path):
    p = ref.mae_weights(5, D, DEPTH, 1, (16, 16), 8, decoder=dict(dims=16, depth=1, out=256))
    p.tensor('decoder_blocks.0.attn.relative_position_bias_table', 9, 2)
    report = audio_mae.convert(ref.as_state(p), 'amae.pth')
    assert all('Swin' in report.dropped[k] for k in p if k.startswith(('decoder', 'mask_token')))
    assert not any(k.startswith('audio_decoder') for k in report.finish())


def test_audio_mae_finetuned_parity(tmp_path):
    p = ref.mae_weights(6, D, DEPTH, 1, (16, 16), 8, finetuned=True)
    src = save_foreign(tmp_path, p)
    cfg = write_config(tmp_path, 'ft', dict(
        type='AVClassifier', modality='audio', audio_backbone=dict(
            type='AudioViT', arch=ARCH, input_size=AUDIO_SIZE, patch_size=16),
        head=dict(type='AVClsHead', num_classes=5)))
    dst = str(tmp_path / 'out.pth')
    report = audio_mae.main([src, dst, '--config', cfg])
    assert not report.missing and not report.dropped
    model = load(cfg, dst)
    audio, _ = inputs(4)
    tokens = ref.mae_encoder(p, audio, DEPTH, HEADS, final_norm=False)
    want = ref.linear(ref.ln(p, 'fc_norm', tokens[:, 1:].mean(1)), p, 'head')
    with torch.no_grad():
        close(model(dict(audio=audio), mode='tensor'), want)


# ----------------------------------------------------------------------------- ImageNet MAE
def test_imagenet_mae_into_audio_and_video_parity(tmp_path):
    # a 32 x 32 image model (2 x 2 grid); targets whose grids equal the image grid, so that the
    # position code is carried exactly: audio 32 x 32 one-channel, video 2 frames of 32 x 32
    p = ref.mae_weights(7, D, DEPTH, 3, (16, 16), 4)
    p.linear('decoder_embed', 16, D)
    src = save_foreign(tmp_path, p)
    cfg = write_config(tmp_path, 'img', dict(
        type='MAViL',
        audio_backbone=dict(type='AudioViT', arch=ARCH, input_size=(32, 32), patch_size=16),
        video_backbone=dict(type='VideoViT', arch=ARCH, input_size=(2, 32, 32),
                            patch_size=(2, 16, 16)),
        audio_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2),
        video_decoder=dict(type='MAEDecoder', embed_dims=16, num_layers=1, num_heads=2)))
    dst = str(tmp_path / 'out.pth')
    report = imagenet_mae.main([src, dst, '--config', cfg, '--video-pos', 'checkpoint'])
    assert 'decoder' in report.dropped['decoder_embed.weight']
    model = load(cfg, dst, expect_missing=('neck', 'audio_decoder', 'video_decoder'))
    g = torch.Generator().manual_seed(5)
    image = torch.randn(2, 3, 32, 32, generator=g)
    grey = torch.randn(2, 1, 32, 32, generator=g)
    with torch.no_grad():
        # a static clip gives the image's tokens
        close(model.video_backbone(image.unsqueeze(2).repeat(1, 1, 2, 1, 1)),
              ref.mae_encoder(p, image, DEPTH, HEADS))
        # a one-channel input gives the tokens of that grey image replicated over RGB
        close(model.audio_backbone(grey), ref.mae_encoder(p, grey.repeat(1, 3, 1, 1), DEPTH,
                                                          HEADS))


def test_imagenet_mae_position_grid_is_adapted():
    # A 2 x 2 image code that varies only across columns, resized to a 4 x 2 (time x frequency)
    # audio grid: rows of the image become time, columns frequency. Interpolating along the
    # (constant) rows leaves each column's value, and the column count is unchanged, so every
    # time step must carry the image's column codes; the CLS row is kept.
    p = ref.mae_weights(8, D, DEPTH, 3, (16, 16), 4)
    columns = torch.randn(2, D, generator=torch.Generator().manual_seed(0))
    p['pos_embed'] = torch.cat([p['pos_embed'][:, :1], columns.repeat(2, 1).unsqueeze(0)], 1)
    report = imagenet_mae.convert(ref.as_state(p), 'mae.pth', targets=('audio', ),
                                  audio_grid=(4, 2))
    out = report.finish()
    pos = out['audio_backbone.pos_embed']
    assert pos.shape == (1, 1 + 8, D)
    close(pos[:, :1], p['pos_embed'][:, :1])
    close(pos[0, 1:].reshape(4, 2, D), columns.expand(4, 2, D))
    # the kernel is the channel sum
    close(out['audio_backbone.patch_embed.proj.weight'],
          p['patch_embed.proj.weight'].sum(1, keepdim=True))


# ----------------------------------------------------------------------------- CAV-MAE
def test_cav_mae_parity_of_what_maps(tmp_path):
    # CAV-MAE audio grid F x T = 2 x 4 (fbank 64 frames x 32 bins); one 32 x 32 frame
    p = ref.cavmae_weights(9, D, DEPTH, 1, (2, 4), 4)
    src = save_foreign(tmp_path, p, wrap=None)
    # CAV-MAE's LayerNorms use PyTorch's default eps 1e-5 (the reference computes with it too);
    # the target config says so, and a config left at mavilkit's 1e-6 is reported
    arch = dict(ARCH, norm_eps=ref.CAVMAE_EPS)
    model_cfg = mavil_cfg(final_norm=False, neck_layers=1, neck_norm=True, arch=arch)
    model_cfg['neck']['norm_eps'] = ref.CAVMAE_EPS
    model_cfg['video_backbone'] = dict(backbone('VideoViT', False, input_size=(2, 32, 32)),
                                       arch=arch)
    cfg = write_config(tmp_path, 'cav', model_cfg)
    wrong_eps = write_config(tmp_path, 'cav_eps', dict(
        mavil_cfg(final_norm=False, neck_layers=1, neck_norm=True),
        video_backbone=backbone('VideoViT', False, input_size=(2, 32, 32))))
    report = cav_mae.main([src, str(tmp_path / 'eps.pth'), '--config', wrong_eps])
    assert any('eps' in n and '1e-05' in n for n in report.notes), report.notes
    dst = str(tmp_path / 'out.pth')
    report = cav_mae.main([src, dst, '--config', cfg])
    assert not any('eps' in n for n in report.notes), report.notes
    for key in ('blocks_u.0.norm1_a.weight', 'norm_a.weight', 'decoder_embed.weight'):
        assert key in report.dropped
    assert {'audio_backbone.cls_token', 'video_backbone.cls_token'} <= set(report.missing)
    assert any('no CLS token' in n for n in report.notes)
    model = load(cfg, dst, expect_missing=('audio_backbone', 'video_backbone', 'audio_decoder',
                                           'video_decoder'))
    g = torch.Generator().manual_seed(6)
    fbank = torch.randn(2, *AUDIO_SIZE, generator=g)
    image = torch.randn(2, 3, 32, 32, generator=g)
    want_a, want_v = ref.cavmae_forward(p, fbank, image, DEPTH, 1, HEADS)
    # what maps is compared without the CLS token (CAV-MAE has none): mavilkit's patch
    # embedding + position code, its encoder blocks, the one-layer fusion and its norms
    with torch.no_grad():
        a = model.audio_backbone.embed(fbank.unsqueeze(1))
        v = model.video_backbone.embed(image.unsqueeze(2).repeat(1, 1, 2, 1, 1))
        for blk in model.audio_backbone.blocks:
            a = blk(a)
        for blk in model.video_backbone.blocks:
            v = blk(v)
        x = torch.cat([a, v], 1)
        for blk in model.neck.blocks:
            x = blk(x)
        got_a, got_v = model.neck.norm_audio(x[:, :8]), model.neck.norm_video(x[:, 8:])
    # CAV-MAE's audio tokens are frequency-major (f * 4 + t), mavilkit's time-major (t * 2 + f)
    order = torch.tensor([f * 4 + t for t in range(4) for f in range(2)])
    close(got_a, want_a[:, order])
    close(got_v, want_v)
    with torch.no_grad():  # the whole model runs (its CLS tokens as initialised)
        feats = model.extract_feat(dict(audio=fbank.unsqueeze(1),
                                        video=image.unsqueeze(2).repeat(1, 1, 2, 1, 1)))
    assert feats['audio_fused'].shape == (2, 8, D)


def test_release_as_stage2_teacher_and_finetuning_start(tmp_path):
    """A converted release checkpoint is a MAViL-Fusion teacher (targets = the release's fusion
    outputs) and the start of an A+V fine-tuning (encoders = the release's), via configs."""
    p = release('pretrain', seed=11)
    src = save_foreign(tmp_path, p)
    teacher_cfg = write_config(tmp_path, 'release', mavil_cfg(final_norm=False))
    ckpt = str(tmp_path / 'release_mavilkit.pth')
    mavil_release.main([src, ckpt, '--config', teacher_cfg])
    audio, video = inputs(7)
    want = ref.release_forward(p, audio, video, DEPTH, 2, HEADS)

    student = mavil_cfg(final_norm=True)
    student['target_generator'] = dict(type='MAViLFusionTarget', teacher_config=teacher_cfg,
                                       teacher_checkpoint=ckpt)
    student['data_preprocessor'] = None
    model = MODELS.build(student)
    targets = model.target_generator(dict(audio=audio, video=video))
    close(targets['audio'], want['audio_fused'][:, 1:])
    close(targets['video'], want['video_fused'][:, 1:])
    losses = model.loss(dict(audio=audio, video=video))
    assert all(torch.isfinite(v) for v in losses.values())

    from mavilkit.structures import AVDataSample
    classifier = MODELS.build(dict(
        type='AVClassifier', modality='audio_video', audio_backbone=backbone('AudioViT', False),
        video_backbone=backbone('VideoViT', False),
        fusion=dict(type='VanillaFusion', num_layers=3),
        head=dict(type='AVClsHead', num_classes=5),
        data_preprocessor=dict(type='BaseDataPreprocessor'),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt)))
    classifier.init_weights()
    classifier.eval()
    with torch.no_grad():
        close(classifier.audio_backbone(audio), want['audio'])
        close(classifier.video_backbone(video), want['video'])
    classifier.train()
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(classifier.parameters(), lr=0.1))
    samples = [AVDataSample().set_gt_label([i]).set_gt_score(
        torch.nn.functional.one_hot(torch.tensor(i), 5).float()) for i in range(2)]
    before = classifier.audio_backbone.blocks[0].attn.qkv.weight.clone()
    log = classifier.train_step(dict(inputs=dict(audio=audio, video=video),
                                     data_samples=samples), wrapper)
    assert torch.isfinite(log['loss'])
    assert not torch.equal(before, classifier.audio_backbone.blocks[0].attn.qkv.weight)


def test_publish_model_strips_training_state_and_names_the_hash(tmp_path):
    import hashlib
    import re

    from mmengine.logging import MessageHub
    publish = load_tool('tools/model_converters/publish_model.py')
    model = MODELS.build(backbone('AudioViT', True))
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.randn(1, 1, *AUDIO_SIZE)).sum().backward()
    optimizer.step()
    hub = MessageHub.get_instance('publish_test')
    hub.update_scalar('train/loss', 1.5)
    src = tmp_path / 'work' / 'epoch_3.pth'
    src.parent.mkdir()
    torch.save(dict(state_dict=model.state_dict(), optimizer=optimizer.state_dict(),
                    message_hub=hub.state_dict(),
                    meta=dict(epoch=3, seed=7, dataset_meta=dict(classes=('a', 'b')))), src)
    final = publish.main([str(src), str(tmp_path / 'pub' / 'audio.pth')])
    name = osp.basename(final)
    match = re.fullmatch(r'audio-([0-9a-f]{8})\.pth', name)
    assert match, name
    with open(final, 'rb') as f:
        assert hashlib.sha256(f.read()).hexdigest()[:8] == match.group(1)
    out = torch.load(final, weights_only=True)  # no pickled training objects left
    assert set(out) == {'state_dict', 'meta'}
    assert out['meta']['dataset_meta'] == dict(classes=('a', 'b')) and 'seed' not in out['meta']
    for k, v in model.state_dict().items():
        assert torch.equal(out['state_dict'][k], v)
    # --ema: the EMA weights (mmengine's ema_state_dict, module.* names); a file without them is
    # refused rather than published with the online weights under an EMA name
    with pytest.raises(ValueError, match='no ema_state_dict'):
        publish.main([str(src), str(tmp_path / 'pub' / 'ema.pth'), '--ema'])
    ema = {f'module.{k}': v + 1 for k, v in model.state_dict().items()}
    torch.save(dict(state_dict=model.state_dict(), ema_state_dict=dict(ema, steps=torch.tensor(5))),
               src)
    out = torch.load(publish.main([str(src), str(tmp_path / 'pub' / 'ema.pth'), '--ema']),
                     weights_only=True)
    for k, v in model.state_dict().items():
        assert torch.equal(out['state_dict'][k], v + 1)
    assert 'steps' not in out['state_dict']


def test_default_configs_are_found_from_another_directory(tmp_path, monkeypatch):
    """Run outside the repository, a converter still finds its shipped default config, so a
    file of the wrong kind is refused for what it is (not for a missing config)."""
    image_vit = {'patch_embed.proj.weight': torch.randn(8, 3, 16, 16),
                 'pos_embed': torch.randn(1, 197, 8), 'cls_token': torch.randn(1, 1, 8),
                 'blocks.0.attn.qkv.weight': torch.randn(24, 8), 'norm.weight': torch.ones(8)}
    torch.save(dict(model=image_vit), tmp_path / 'image.pth')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotThisKindError, match='one-channel spectrogram kernel'):
        audio_mae.main(['image.pth', 'out.pth'])
    with pytest.raises(NotThisKindError, match='not a MAViL release'):
        mavil_release.main(['image.pth', 'out.pth'])
    with pytest.raises(NotThisKindError, match='not a CAV-MAE'):
        cav_mae.main(['image.pth', 'out.pth'])
    assert not (tmp_path / 'out.pth').exists()
