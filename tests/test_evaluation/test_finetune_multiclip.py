"""Multi-clip testing (Appendix B "Inference", Table 11) on a real mp4 whose frames encode their
time: the K clips are uniformly spaced over the video, the audio is the same 10 s for all of them,
and the classifier averages the K clip predictions into one per video."""
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate

from mavilkit.registry import MODELS
from mavilkit.testing import write_mp4
from mavilkit.utils import register_all_modules

register_all_modules()

FPS, DURATION, SIZE = 10, 10., 96
CLIP_SECONDS, CLIP_FRAMES = 4., 8  # 8 frames at 2 fps (Appendix B)


def frame_colour(index):
    """RGB of source frame ``index`` < 100: tens in red, units in green, 20 levels apart (robust
    to H.264 and the YUV round trip)."""
    index = np.asarray(index)
    return np.stack([20 + 20 * (index // 10), 20 + 20 * (index % 10),
                     np.full_like(index, 128)], axis=-1)


@pytest.fixture(scope='module')
def timed_video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('multiclip') / 'timed.mp4')
    n = int(DURATION * FPS)
    frames = np.broadcast_to(frame_colour(np.arange(n))[:, None, None, :],
                             (n, SIZE, SIZE, 3)).astype(np.uint8)
    t = np.arange(int(DURATION * 16000)) / 16000
    write_mp4(path, frames, FPS, waveform=0.3 * np.sin(2 * np.pi * 440 * t))
    return path


def decoded_source_frames(video):
    """``(K, T)`` source frame indices read back from the colours of ``(K, C, T, H, W)``."""
    rgb = video.float().mean(dim=(3, 4)).numpy()  # (K, C, T)
    tens, units = np.round((rgb[:, 0] - 20) / 20), np.round((rgb[:, 1] - 20) / 20)
    return (10 * tens + units).astype(int)


@pytest.mark.parametrize('num_clips', [10, 3])
def test_clips_are_uniformly_spaced_in_time(timed_video, num_clips):
    # the A+V demo config's test pipeline (LoadAudio, fbank, SampleVideoFrames, crop, pack)
    cfg = Config.fromfile('configs/demo/finetune-av_demo.py')
    pipeline = [dict(t, num_clips=num_clips) if t['type'] == 'SampleVideoFrames' else t
                for t in cfg.test_dataloader.dataset.pipeline]
    packed = Compose(pipeline)(dict(filename=timed_video, gt_label=[1], num_classes=4,
                                    sample_idx=0))
    video, audio = packed['inputs']['video'], packed['inputs']['audio']
    assert video.shape == (num_clips, 3, CLIP_FRAMES, SIZE, SIZE)
    # independent expectation: the K starts are evenly spaced from 0 to 10 - 4 s (issue 11 §7),
    # frame j is shown at start + j / 2 s
    starts = (DURATION - CLIP_SECONDS) * np.arange(num_clips) / (num_clips - 1)
    times = starts[:, None] + np.arange(CLIP_FRAMES)[None] / 2.
    want = np.floor(times * FPS + 1e-6).astype(int)
    np.testing.assert_array_equal(decoded_source_frames(video), want)
    # the clips cover the video: the first frame of the first clip and the last second
    assert want[0, 0] == 0 and want[-1, -1] >= FPS * (DURATION - 1)
    # one 10-s waveform per video (1024 fbank frames, computed on the device), whatever the
    # number of clips
    assert audio.shape == ((1024 - 1) * 160 + 400, )
    fbank = MODELS.build(cfg.data_preprocessor)(pseudo_collate([packed]))['inputs']['audio']
    assert fbank.shape == (1, 1, 1024, 128)


def test_classifier_averages_the_timed_clips(timed_video):
    """The K clips give K different predictions; the video's score is their mean, and the audio
    branch sees the same spectrogram for every clip."""
    cfg = Config.fromfile('configs/demo/finetune-av_demo.py')
    pipeline = [dict(t, num_clips=4) if t['type'] == 'SampleVideoFrames' else t
                for t in cfg.test_dataloader.dataset.pipeline]
    packed = Compose(pipeline)(dict(filename=timed_video, gt_label=[1], num_classes=4,
                                    sample_idx=0))
    torch.manual_seed(0)
    model_cfg = dict(cfg.model, init_cfg=None, head=dict(cfg.model.head, init_std=0.5),
                     data_preprocessor=cfg.data_preprocessor)
    model = MODELS.build(model_cfg).eval()
    data = model.data_preprocessor(pseudo_collate([packed]), training=False)
    seen_audio = []
    model.audio_backbone.register_forward_hook(lambda m, i, o: seen_audio.append(i[0].shape))
    with torch.no_grad():
        logits = model(data['inputs'], mode='tensor')  # (1, K, C)
        pred = model(data['inputs'], data['data_samples'], mode='predict')[0].pred_score
    assert logits.shape == (1, 4, 4)
    assert seen_audio[0][0] == 1  # the audio is encoded once per video, not once per clip
    clip_scores = logits[0].sigmoid()
    assert not torch.allclose(clip_scores[0], clip_scores[-1])  # different times, different input
    assert torch.allclose(pred, clip_scores.mean(0), atol=1e-6)
