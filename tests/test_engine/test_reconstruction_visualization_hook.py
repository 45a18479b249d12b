"""ReconstructionVisualizationHook on a tiny MAViL: image layout, masked patches, norm_pix
de-normalisation, and the stage-2 skip."""
import logging
import os.path as osp
from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
import torch

from mavilkit.engine.hooks import ReconstructionVisualizationHook
from mavilkit.models.utils import patchify
from mavilkit.registry import MODELS
from mavilkit.utils import register_all_modules

GREY = 128


def tiny_mavil(norm_pix=False):
    register_all_modules()
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='MAViL',
        audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(64, 32), patch_size=16),
        video_backbone=dict(type='VideoViT', arch='tiny', input_size=(4, 32, 48),
                            patch_size=(2, 16, 16)),
        neck=dict(type='VanillaFusion', num_layers=1),
        audio_decoder=dict(type='MAEDecoder', embed_dims=32, num_layers=1, num_heads=2),
        video_decoder=dict(type='MAEDecoder', embed_dims=32, num_layers=1, num_heads=2),
        target_generator=dict(type='RawTarget', norm_pix=norm_pix),
        mask_ratio=0.8))


def raw_batch(batch_size=3):
    gen = torch.Generator().manual_seed(1)
    return dict(inputs=dict(
        audio=torch.randn(batch_size, 1, 64, 32, generator=gen),
        video=torch.randint(0, 256, (batch_size, 3, 4, 32, 48), generator=gen,
                            dtype=torch.uint8)))


def test_images_layout_and_masked_patches():
    model = tiny_mavil()
    hook = ReconstructionVisualizationHook(interval=1, max_samples=2, mask_ratio=0.75)
    images = hook.draw(model, raw_batch(2))
    assert sorted(images) == ['audio_0', 'audio_1', 'video_0', 'video_1']
    assert model.mask_ratio == 0.8  # restored after drawing
    sep = 4
    audio = images['audio_0']
    # 3 rows of (F=32) × (T=64), frequency vertical, separated by 4 white rows
    assert audio.shape == (3 * 32 + 2 * sep, 64, 3) and audio.dtype == np.uint8
    masked_row = audio[32 + sep:2 * 32 + sep]
    # 4 × 2 = 8 audio patches; with 75 % masking round(8 · 0.25) = 2 stay visible
    grey_patches = sum(
        bool(np.all(masked_row[f:f + 16, t:t + 16] == GREY))
        for f in range(0, 32, 16) for t in range(0, 64, 16))
    assert grey_patches == 6
    video = images['video_0']
    # rows of 4 frames (32 × 48) side by side
    assert video.shape == (3 * 32 + 2 * sep, 4 * 48 + 3 * sep, 3)
    masked_video = video[32 + sep:2 * 32 + sep]
    # 2 × 2 × 3 = 12 tubelets → 3 visible, 9 removed; a tubelet covers 2 frames
    grey_cells = sum(
        bool(np.all(masked_video[y:y + 16, f * (48 + sep) + x:f * (48 + sep) + x + 16] == GREY))
        for f in range(4) for y in range(0, 32, 16) for x in range(0, 48, 16))
    assert grey_cells == 9 * 2
    # the original row shows the input frames with the ImageNet normalisation undone
    frame0 = raw_batch(2)['inputs']['video'][0, :, 0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(video[:32, :48].astype(int), frame0.astype(int), atol=1)


def equal_stats_batch():
    """One clip whose patches all hold the same values in different orders (per channel for
    video), so every patch has the same mean and variance, before and after the per-channel
    normalisation of the data preprocessor."""
    gen = torch.Generator().manual_seed(2)
    audio_values = torch.randn(16 * 16, generator=gen)
    audio = torch.empty(1, 1, 64, 32)
    for t in range(0, 64, 16):
        for f in range(0, 32, 16):
            order = torch.randperm(256, generator=gen)
            audio[0, 0, t:t + 16, f:f + 16] = audio_values[order].view(16, 16)
    video_values = torch.randint(0, 256, (3, 2 * 16 * 16), generator=gen, dtype=torch.uint8)
    video = torch.empty(1, 3, 4, 32, 48, dtype=torch.uint8)
    for c in range(3):
        for t in range(0, 4, 2):
            for y in range(0, 32, 16):
                for x in range(0, 48, 16):
                    order = torch.randperm(512, generator=gen)
                    video[0, c, t:t + 2, y:y + 16, x:x + 16] = \
                        video_values[c, order].view(2, 16, 16)
    return dict(inputs=dict(audio=audio, video=video))


def test_norm_pix_predictions_are_denormalised():
    """With norm_pix the decoder predicts per-patch normalised values; the hook draws them with
    the visible patches' statistics. When every patch has the same statistics, a perfect
    prediction must be drawn as the original input, removed patches included."""
    model = tiny_mavil(norm_pix=True)
    batch = equal_stats_batch()
    inputs = model.data_preprocessor(batch, False)['inputs']
    # the per-patch normalised targets, by hand (MAE's norm_pix_loss, unbiased variance)
    perfect = {}
    for m, size in (('audio', (16, 16)), ('video', (2, 16, 16))):
        p = patchify(inputs[m], size)
        perfect[m] = (p - p.mean(-1, keepdim=True)) / (p.var(-1, keepdim=True) + 1e-6)**.5
    hook = ReconstructionVisualizationHook(interval=1, max_samples=1)
    with mock.patch.object(model.audio_decoder, 'forward', return_value=perfect['audio']), \
            mock.patch.object(model.video_decoder, 'forward', return_value=perfect['video']):
        images = hook.draw(model, batch)
    audio, video = images['audio_0'], images['video_0']
    np.testing.assert_allclose(audio[-32:].astype(int), audio[:32].astype(int), atol=1)
    np.testing.assert_allclose(video[-32:].astype(int), video[:32].astype(int), atol=1)


def _fake_runner(model, tmp_path, iteration):
    visualizer = mock.MagicMock()
    return SimpleNamespace(model=model, iter=iteration, work_dir=str(tmp_path),
                           visualizer=visualizer, logger=logging.getLogger('hook-test'))


def test_writes_every_interval(tmp_path):
    model = tiny_mavil()
    hook = ReconstructionVisualizationHook(interval=2, max_samples=1)
    for it in range(4):
        runner = _fake_runner(model, tmp_path, it)
        hook.after_train_iter(runner, it, raw_batch(3))
        calls = runner.visualizer.add_image.call_count
        assert calls == (2 if it in (1, 3) else 0)
    assert osp.isfile(tmp_path / 'reconstructions' / 'iter_2_audio_0.png')
    assert osp.isfile(tmp_path / 'reconstructions' / 'iter_4_video_0.png')


def test_skips_non_raw_targets_with_one_log(tmp_path, caplog):
    model = tiny_mavil()
    model.target_generator = torch.nn.Identity()  # stands for a stage-2 teacher
    hook = ReconstructionVisualizationHook(interval=1)
    with caplog.at_level(logging.INFO, logger='hook-test'):
        for it in range(3):
            runner = _fake_runner(model, tmp_path, it)
            hook.after_train_iter(runner, it, raw_batch(2))
            runner.visualizer.add_image.assert_not_called()
    assert sum('nothing to draw' in r.message for r in caplog.records) == 1
    assert not osp.exists(tmp_path / 'reconstructions')


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match='interval'):
        ReconstructionVisualizationHook(interval=0)
    with pytest.raises(ValueError, match='mask_ratio'):
        ReconstructionVisualizationHook(mask_ratio=1.0)
