"""Fine-tuning models: masking fractions, multi-clip averaging, losses, pre-trained loading."""
import pytest
import torch

from mavilkit.models.utils import grid_masking
from mavilkit.registry import MODELS
from mavilkit.structures import AVDataSample
from mavilkit.utils import register_all_modules

register_all_modules()

AUDIO = dict(type='AudioViT', arch='tiny', input_size=(160, 64))     # grid 10 x 4
VIDEO = dict(type='VideoViT', arch='tiny', input_size=(4, 32, 32))   # grid 2 x 2 x 2


def build(modality, loss='bce', **kwargs):
    cfg = dict(type='AVClassifier', modality=modality,
               head=dict(type='AVClsHead', num_classes=5, loss=loss, init_std=0.5), **kwargs)
    if modality in ('audio', 'audio_video'):
        cfg['audio_backbone'] = dict(AUDIO)
    if modality in ('video', 'audio_video'):
        cfg['video_backbone'] = dict(VIDEO)
    return MODELS.build(cfg)


def samples(labels, num_classes=5):
    return [AVDataSample(metainfo=dict(clip_index=i)).set_gt_label(lab).set_gt_score(
        torch.zeros(num_classes).index_fill_(0, torch.tensor(lab), 1.))
        for i, lab in enumerate(labels)]


@pytest.mark.parametrize('grid,ratios,kept', [((64, 8), (0.2, 0.2), (51, 6)),
                                              ((4, 196), (0.2, 0.2), (3, 157))])
def test_grid_masking_keeps_the_stated_fractions(grid, ratios, kept):
    # Appendix B: 20 % of time and 20 % of frequency (audio 64 x 8), 20 % of time and space
    # (video 4 x 14 x 14); round(64 * 0.8) = 51, round(8 * 0.8) = 6, round(4 * 0.8) = 3,
    # round(196 * 0.8) = 157.
    ids = grid_masking(6, grid, ratios, generator=torch.Generator().manual_seed(0))
    assert ids.shape == (6, kept[0] * kept[1])
    rows, cols = ids // grid[1], ids % grid[1]
    for b in range(6):
        kept_rows, kept_cols = set(rows[b].tolist()), set(cols[b].tolist())
        assert len(kept_rows) == kept[0] and len(kept_cols) == kept[1]
        # whole rows and columns are dropped: the kept tokens are the full cartesian product
        assert set(ids[b].tolist()) == {r * grid[1] + c for r in kept_rows for c in kept_cols}
    assert not torch.equal(ids[0], ids[1])  # drawn per sample


def test_masking_only_in_training():
    model = build('audio_video')
    seen = {}
    model.audio_backbone.register_forward_hook(lambda m, i, o: seen.__setitem__('audio', o.shape))
    model.video_backbone.register_forward_hook(lambda m, i, o: seen.__setitem__('video', o.shape))
    inputs = dict(audio=torch.randn(2, 1, 160, 64), video=torch.randn(2, 3, 4, 32, 32))
    model.train()
    model(inputs, samples([[0], [1]]), mode='loss')
    # audio 10 x 4 grid: round(10 * .8) * round(4 * .8) = 8 * 3; video 2 x 4: round(2 * .8) = 2
    # time steps x round(4 * .8) = 3 positions; + CLS
    assert seen['audio'][1] == 1 + 24 and seen['video'][1] == 1 + 6
    model.eval()
    model(inputs, samples([[0], [1]]), mode='predict')
    assert seen['audio'][1] == 1 + 40 and seen['video'][1] == 1 + 8


def _hand_layer_norm(x, norm):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean)**2).mean(-1, keepdim=True)
    return (x - mean) / (var + 1e-6).sqrt() * norm.weight + norm.bias


def _last_block_output(backbone, x):
    """The encoder's tokens before any final norm, recomputed block by block."""
    tokens = backbone.patch_embed(x) + backbone.pos_embed[:, 1:]
    cls = (backbone.cls_token + backbone.pos_embed[:, :1]).expand(x.shape[0], -1, -1)
    out = torch.cat([cls, tokens], 1)
    for blk in backbone.blocks:
        out = blk(out)
    return out


def _perturb_norms(model):
    with torch.no_grad():
        for name, param in model.named_parameters():
            if 'norm' in name:
                param.add_(torch.randn_like(param) * 0.3)


def test_pooling_excludes_cls_and_head_is_linear():
    # Issue 11 section 4 (MAE / Audio-MAE global_pool): no final encoder norm, mean over the
    # tokens without CLS, a new fc_norm LayerNorm, then the linear head.
    torch.manual_seed(0)
    model = build('audio').eval()
    _perturb_norms(model)
    assert isinstance(model.audio_backbone.norm, torch.nn.Identity)
    x = torch.randn(3, 1, 160, 64)
    with torch.no_grad():
        feat = _hand_layer_norm(_last_block_output(model.audio_backbone, x)[:, 1:].mean(1),
                                model.fc_norm)
        assert torch.allclose(model.extract_feat(dict(audio=x))['audio'], feat, atol=1e-5)
        want = feat @ model.head.fc.weight.t() + model.head.fc.bias
        assert torch.allclose(model(dict(audio=x), mode='tensor'), want, atol=1e-5)
    # fc_norm=False: the old recipe, final norm on every token and no fc_norm
    old = build('audio', fc_norm=False).eval()
    with torch.no_grad():
        tokens = old.audio_backbone(x)
        want = tokens[:, 1:].mean(1) @ old.head.fc.weight.t() + old.head.fc.bias
        assert torch.allclose(old(dict(audio=x), mode='tensor'), want, atol=1e-6)


def test_av_head_input_pools_after_fusion_then_fc_norm():
    # The released MAViL A+V model: fusion blocks without a final norm, audio and video tokens
    # pooled separately (CLS excluded), concatenated, fc_norm over the 2D vector.
    torch.manual_seed(1)
    model = build('audio_video').eval()
    _perturb_norms(model)
    audio, video = torch.randn(2, 1, 160, 64), torch.randn(2, 3, 4, 32, 32)
    with torch.no_grad():
        a = _last_block_output(model.audio_backbone, audio)
        v = _last_block_output(model.video_backbone, video)
        x = torch.cat([a, v], 1)
        for blk in model.fusion.blocks:
            x = blk(x)
        pooled = torch.cat([x[:, 1:a.shape[1]].mean(1), x[:, a.shape[1] + 1:].mean(1)], 1)
        feat = _hand_layer_norm(pooled, model.fc_norm)
        assert model.fc_norm.normalized_shape == (2 * 64, )
        assert torch.allclose(model.extract_feat(dict(audio=audio, video=video))['fusion'],
                              feat, atol=1e-5)
        logits = model(dict(audio=audio, video=video), mode='tensor')
        assert torch.allclose(logits, feat @ model.head.fc.weight.t() + model.head.fc.bias,
                              atol=1e-5)


@pytest.mark.parametrize('modality', ['video', 'audio_video'])
def test_multi_clip_predictions_are_averaged(modality):
    torch.manual_seed(0)
    model = build(modality).eval()
    audio = torch.randn(2, 1, 160, 64)
    clips = torch.randn(2, 3, 3, 4, 32, 32)  # B=2 videos, K=3 clips
    with torch.no_grad():
        pred = model(dict(audio=audio, video=clips), samples([[0], [1]]), mode='predict')
        per_clip = [torch.stack([s.pred_score for s in model(
            dict(audio=audio, video=clips[:, k]), samples([[0], [1]]), mode='predict')])
            for k in range(3)]
    want = torch.stack(per_clip).mean(0)
    got = torch.stack([s.pred_score for s in pred])
    assert torch.allclose(got, want, atol=1e-6)
    assert not torch.allclose(per_clip[0], per_clip[1])  # the clips do differ


def test_bce_and_ce_losses():
    x = dict(audio=torch.randn(3, 1, 160, 64))
    target = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0], [0, 0, 0, 0, 1]])
    data = samples([[0, 3], [1], [4]])
    for loss in ('bce', 'ce'):
        model = build('audio', loss=loss).eval()  # eval: no masking, no drop path
        logits = model(x, mode='tensor')
        got = model(x, data, mode='loss')['loss_cls']
        if loss == 'bce':
            p = logits.sigmoid()
            want = -(target * p.log() + (1 - target) * (1 - p).log()).mean()
        else:
            want = -(target * logits.log_softmax(1)).sum(1).mean()
        assert torch.allclose(got, want, atol=1e-6)
        scores = torch.stack([s.pred_score for s in model(x, samples([[0]] * 3), mode='predict')])
        assert torch.allclose(scores, logits.sigmoid() if loss == 'bce' else logits.softmax(1))


def _mavil_like_checkpoint(path, audio_cfg=AUDIO, video_cfg=VIDEO, with_video=True):
    audio = MODELS.build(dict(audio_cfg))
    video = MODELS.build(dict(video_cfg))
    state = {f'audio_backbone.{k}': v for k, v in audio.state_dict().items()}
    if with_video:
        state.update({f'video_backbone.{k}': v for k, v in video.state_dict().items()})
    state['audio_decoder.mask_token'] = torch.zeros(1, 1, 8)
    torch.save(dict(state_dict=state, meta=dict()), path)
    return audio, video


def test_load_encoders_with_prefix(tmp_path):
    ckpt = tmp_path / 'mavil.pth'
    audio, video = _mavil_like_checkpoint(ckpt)
    model = MODELS.build(dict(
        type='AVClassifier', modality='audio_video',
        audio_backbone=dict(AUDIO, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                                 prefix='audio_backbone.')),
        video_backbone=dict(VIDEO, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                                 prefix='video_backbone.')),
        head=dict(type='AVClsHead', num_classes=5)))
    model.init_weights()
    for ref, mine in ((audio, model.audio_backbone), (video, model.video_backbone)):
        # global-pool fine-tuning drops the encoders' final norm (fc_norm instead)
        assert set(ref.state_dict()) - set(mine.state_dict()) == {'norm.weight', 'norm.bias'}
        for k, v in mine.state_dict().items():
            assert torch.equal(v, ref.state_dict()[k]), k
    # the whole-model form loads the same encoders
    whole = MODELS.build(dict(type='AVClassifier', modality='audio', audio_backbone=dict(AUDIO),
                              head=dict(type='AVClsHead', num_classes=5),
                              init_cfg=dict(type='Pretrained', checkpoint=str(ckpt))))
    whole.init_weights()
    assert torch.equal(whole.audio_backbone.blocks[0].attn.qkv.weight,
                       audio.blocks[0].attn.qkv.weight)


def test_loading_never_silently_skips_the_backbone(tmp_path):
    ckpt = tmp_path / 'audio_only.pth'
    _mavil_like_checkpoint(ckpt, with_video=False)
    wrong_prefix = MODELS.build(dict(
        type='AVClassifier', modality='audio',
        audio_backbone=dict(AUDIO, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                                 prefix='backbone.')),
        head=dict(type='AVClsHead', num_classes=5)))
    with pytest.raises(KeyError, match='backbone.'):
        wrong_prefix.init_weights()
    # whole-model load of a checkpoint without the video encoder
    model = build('audio_video')
    state = torch.load(ckpt, weights_only=True)['state_dict']
    with pytest.raises(KeyError, match='video_backbone'):
        model.load_state_dict(state, strict=False)
    # another architecture: shapes differ
    ckpt_small = tmp_path / 'other_size.pth'
    _mavil_like_checkpoint(ckpt_small, audio_cfg=dict(AUDIO, input_size=(320, 64)))
    other = MODELS.build(dict(
        type='AVClassifier', modality='audio',
        audio_backbone=dict(AUDIO, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt_small),
                                                 prefix='audio_backbone.')),
        head=dict(type='AVClsHead', num_classes=5)))
    with pytest.raises(ValueError, match='pos_embed'):
        other.init_weights()


def test_config_errors_are_clear():
    with pytest.raises(ValueError, match='modality'):
        build('speech')
    with pytest.raises(ValueError, match='video_backbone'):
        MODELS.build(dict(type='AVClassifier', modality='video',
                          head=dict(type='AVClsHead', num_classes=5)))
    with pytest.raises(ValueError, match="'bce' or 'ce'"):
        build('audio', loss='focal')


def test_crop_pos_embed_for_shorter_spectrograms(tmp_path):
    # a checkpoint for 320 frames (20 x 4 grid) into a 160-frame encoder (10 x 4 grid)
    ckpt = tmp_path / 'long.pth'
    long_audio, _ = _mavil_like_checkpoint(ckpt, audio_cfg=dict(AUDIO, input_size=(320, 64)))
    model = MODELS.build(dict(
        type='AVClassifier', modality='audio',
        audio_backbone=dict(AUDIO, init_cfg=dict(type='Pretrained', checkpoint=str(ckpt),
                                                 prefix='audio_backbone.',
                                                 crop_pos_embed=True)),
        head=dict(type='AVClsHead', num_classes=5)))
    fresh_pos = model.audio_backbone.pos_embed.clone()
    model.init_weights()
    loaded = model.audio_backbone.pos_embed
    assert torch.equal(loaded, long_audio.pos_embed[:, :41])
    # time-major tokens: the first 10 time rows of the 20 x 4 sin-cos grid are the 10 x 4 grid
    assert torch.allclose(loaded, fresh_pos, atol=1e-6)
    assert torch.equal(model.audio_backbone.blocks[1].mlp.fc2.weight,
                       long_audio.blocks[1].mlp.fc2.weight)


def test_head_targets_from_gt_label_and_ce_rule():
    head = MODELS.build(dict(type='AVClsHead', num_classes=5, in_channels=4, loss='bce'))
    data = [AVDataSample().set_gt_label(lab) for lab in ([0, 3], [1], [4, 2, 0])]
    want = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0], [1, 0, 1, 0, 1]])  # by hand
    assert torch.equal(head.targets(data, torch.device('cpu')), want)
    # Appendix B: CE only for single-label data without mixup; several labels need BCE
    ce = MODELS.build(dict(type='AVClsHead', num_classes=5, in_channels=4, loss='ce'))
    with pytest.raises(ValueError, match="loss='bce'"):
        ce.loss(torch.zeros(3, 5), data)
    single = [AVDataSample().set_gt_label(lab) for lab in ([2], [0])]
    logits = torch.tensor([[0., 1, 2, 0, 0], [3., 0, 0, 1, 0]])
    want_ce = -(logits.log_softmax(1)[0, 2] + logits.log_softmax(1)[1, 0]) / 2
    assert torch.allclose(ce.loss(logits, single)['loss_cls'], want_ce)
