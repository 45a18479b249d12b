"""Fast decoding of download-like clips (PyAV levers), the compact copy, the data benchmark."""
import json
import os

import av
import cv2
import numpy as np
import pytest

from mavilkit.datasets.errors import MediaReadError
from mavilkit.datasets.transforms import (SampleVideoFrames, SampleVideoFramesPyAV,
                                          VideoRandomResizedCrop)
from mavilkit.datasets.transforms.pyav_video import decode_frames, packet_index, yuv420_crop_resize
from tool_helpers import load_tool

benchmark = load_tool('tools/analysis/benchmark_dataloader.py')
prepare_clips = load_tool('tools/data/prepare_clips.py')
make_clips, run_stages = benchmark.make_clips, benchmark.run_stages
write_download_like_clip = benchmark.write_download_like_clip


@pytest.fixture(scope='module')
def clips(tmp_path_factory):
    """Two tiny long-GOP H.264 clips with B-frames: constant 25 fps, and variable frame rate
    (25 fps, a third of it from 2.5 s on)."""
    root = tmp_path_factory.mktemp('clips')
    return [write_download_like_clip(str(root / f'{vfr:d}.mp4'), 96, 64, 25., 2., 44100, 5.,
                                     vfr, seed=int(vfr))['path'] for vfr in (False, True)]


def all_frames(path):
    """Every frame (timestamp → RGB) and the timestamps, decoded front to back."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        frames = {f.pts: f.to_ndarray(format='rgb24') for f in container.decode(stream)}
        return frames, float(stream.time_base)


def shown_at(pts_sorted, t, time_base):
    """The last frame at or before t seconds after the first one (a plain loop)."""
    chosen = pts_sorted[0]
    for p in pts_sorted:
        if (p - pts_sorted[0]) * time_base <= t + 1e-9:
            chosen = p
    return chosen


@pytest.mark.parametrize('skip_nonref,reseek', [(False, False), (True, False), (True, True)])
def test_decode_frames_gives_the_frames_shown(clips, skip_nonref, reseek):
    for path in clips:
        frames, time_base = all_frames(path)
        pts = sorted(frames)
        times = 0.3 + np.arange(8) / 2.
        expected = [shown_at(pts, t, time_base) for t in times]
        with av.open(path) as container:
            stream = container.streams.video[0]
            index, keys, delay = packet_index(container, stream)
            assert index.tolist() == pts
            assert len(keys) >= 2  # a keyframe every 2 s
            got, decoded = decode_frames(container, stream, expected, keys,
                                         lambda f: f.to_ndarray(format='rgb24'),
                                         skip_nonref, reseek, delay)
        for img, p in zip(got, sorted(set(expected))):
            np.testing.assert_array_equal(img, frames[p])
        assert len(set(expected)) <= decoded <= len(pts)


def test_levers_decode_fewer_frames(clips):
    counts = []
    with av.open(clips[0]) as container:
        stream = container.streams.video[0]
        index, keys, delay = packet_index(container, stream)
        # frames shown at 0.3, 0.8, ..., 3.8 s of the 25 fps clip
        wanted = index[np.floor((0.3 + np.arange(8) / 2.) * 25).astype(int)]
        for skip, reseek in [(False, False), (True, False), (True, True)]:
            counts.append(decode_frames(container, stream, wanted, keys, lambda f: None,
                                        skip, reseek, delay)[1])
    # 0.3 s to 3.8 s at 25 fps from the keyframe at 0: frames 0..95 (96) decoded plainly;
    # x264's B-frames are not references, so skipping them decodes fewer; the keyframe at
    # 2 s lets re-seeking skip 1.8-2 s.
    assert counts[0] == 96
    assert counts[1] < counts[0]
    assert counts[2] <= counts[1]


def test_decode_frames_when_seeks_land_early(clips, tmp_path):
    """A 1-s-GOP copy at 8 fps with B-frames: an mp4 seek to a keyframe's timestamp lands one
    keyframe early (FFmpeg compares with decoding times). Frames must come out right with and
    without the seek delay, wanted keyframes included; the delay saves decoding."""
    copy = str(tmp_path / 'fps8.mp4')
    prepare_clips.reencode(clips[0], copy, short_side=32, fps=8)
    frames, time_base = all_frames(copy)
    pts = sorted(frames)
    # the first frame of every 1/8-s slot of the 25 fps source: 0, 0.16, 0.28, 0.4, ...
    source_times = np.arange(125) / 25.
    kept, slot = [], 0.
    for t in source_times:
        if t >= slot - 1e-6:
            kept.append(t)
            while slot <= t + 1e-9:
                slot += 1 / 8
    np.testing.assert_allclose((np.array(pts) - pts[0]) * time_base, kept, atol=1e-6)
    with av.open(copy) as container:
        stream = container.streams.video[0]
        index, keys, delay = packet_index(container, stream)
        assert delay > 0  # B-frames
        wanted = [index[i] for i in (12, 17, 20, 24, 28, 32)]
        assert set(wanted) & set(keys.tolist())  # a wanted keyframe
        decoded = {}
        for seek_delay in (0, delay):
            got, decoded[seek_delay] = decode_frames(
                container, stream, wanted, keys, lambda f: f.to_ndarray(format='rgb24'),
                True, True, seek_delay)
            for img, p in zip(got, sorted(set(wanted))):
                np.testing.assert_array_equal(img, frames[p])
        assert decoded[delay] < decoded[0]


def test_yuv_crop_resize_matches_rgb_crop_resize(clips):
    with av.open(clips[0]) as container:
        frame = next(container.decode(video=0))
    box = (10, 18, 40, 52)  # y, x, h, w
    got = yuv420_crop_resize(frame, box, (32, 32))
    rgb = frame.to_ndarray(format='rgb24')[10:50, 18:70]
    expected = cv2.resize(rgb, (32, 32), interpolation=cv2.INTER_LINEAR)
    assert got.shape == (32, 32, 3) and got.dtype == np.uint8
    # same picture; the order of chroma upsampling and resizing differs
    assert np.abs(got.astype(int) - expected).mean() < 4


def test_sample_video_frames_pyav(clips):
    # without a crop: the frames SampleVideoFrames decodes on a constant-rate clip
    np.random.seed(3)
    fast = SampleVideoFramesPyAV(test_mode=True)(dict(filename=clips[0]))
    slow = SampleVideoFrames(test_mode=True)(dict(filename=clips[0]))
    np.testing.assert_array_equal(fast['frame_inds'], slow['frame_inds'])
    np.testing.assert_array_equal(fast['imgs'], slow['imgs'])
    # on the variable-rate clip: the frames shown at the middle 4 s (0.5 s .. 4.0 s)
    frames, time_base = all_frames(clips[1])
    pts = sorted(frames)
    out = SampleVideoFramesPyAV(test_mode=True)(dict(filename=clips[1]))
    expected = [shown_at(pts, 0.5 + i / 2, time_base) for i in range(8)]
    np.testing.assert_array_equal(out['frame_inds'][0], [pts.index(p) for p in expected])
    # fused crop: the same box as SampleVideoFrames + VideoRandomResizedCrop with one seed
    np.random.seed(7)
    fused = SampleVideoFramesPyAV(crop_size=32)(dict(filename=clips[0]))
    np.random.seed(7)
    sep = VideoRandomResizedCrop(32)(SampleVideoFrames()(dict(filename=clips[0])))
    assert fused['crop_bbox'] == sep['crop_bbox']
    np.testing.assert_array_equal(fused['frame_inds'], sep['frame_inds'])
    assert fused['imgs'].shape == sep['imgs'].shape == (8, 32, 32, 3)
    assert np.abs(fused['imgs'].astype(int) - sep['imgs']).mean() < 4
    assert fused['frames_decoded'] < 96
    with pytest.raises(ValueError, match='even'):
        SampleVideoFramesPyAV(crop_size=33)


def test_sample_video_frames_pyav_bad_file(tmp_path):
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(b'\x00' * 100)
    with pytest.raises(MediaReadError, match='bad.mp4'):
        SampleVideoFramesPyAV()(dict(filename=str(bad)))


def test_prepare_clips(clips, tmp_path):
    main = prepare_clips.main
    src = tmp_path / 'src'
    (src / 'train').mkdir(parents=True)
    for i, path in enumerate(clips):
        os.link(path, src / 'train' / f'c{i}.mp4')
    (src / 'labels.csv').write_text('index,mid,display_name\n')
    (src / 'train' / 'broken.mp4').write_bytes(b'not a video')
    dst = tmp_path / 'dst'
    assert main([str(src), str(dst), '--short-side', '32', '--workers', '2']) == 1  # broken
    assert (dst / 'labels.csv').read_text() == 'index,mid,display_name\n'
    assert not (dst / 'train' / 'broken.mp4').exists()
    for i, path in enumerate(clips):
        with av.open(str(dst / 'train' / f'c{i}.mp4')) as out, av.open(path) as inp:
            video, audio = out.streams.video[0], out.streams.audio[0]
            assert (video.codec_context.width, video.codec_context.height) == (48, 32)
            assert (audio.sample_rate, audio.codec_context.channels) == (16000, 1)
            index, keys, _ = packet_index(out, video)
            tb = float(video.time_base)
            # a keyframe on the first frame at or after every whole second
            times = (index - index[0]) * tb
            expected = sorted({min(t for t in times if t >= k - 1e-6)
                               for k in range(int(times[-1]) + 1)})
            np.testing.assert_allclose((keys - index[0]) * tb, expected, atol=1e-6)
            src_index, _, _ = packet_index(inp, inp.streams.video[0])
            src_tb = float(inp.streams.video[0].time_base)
            # the frame timestamps, variable rate included, are kept
            np.testing.assert_allclose((index - index[0]) * tb,
                                       (src_index - src_index[0]) * src_tb, atol=1e-3)
    # resumable: a second run finds nothing to do but the broken file; a partial file left by
    # an interrupted run is not mistaken for a finished one
    (dst / 'train' / 'c0.mp4').rename(dst / 'train' / 'c0.mp4.part')
    assert main([str(src), str(dst), '--short-side', '32', '--workers', '1']) == 1
    assert (dst / 'train' / 'c0.mp4').exists()
    assert not (dst / "train" / "c0.mp4.part").exists()


def test_benchmark_stages(tmp_path):
    facts = make_clips(str(tmp_path / 'clips'), num_clips=1, resolutions=['64x48'],
                       duration=4.5, vfr_every=0)
    assert facts[0]['frames'] == 113  # 0, 0.04, ..., 4.48 s at 25 fps
    with av.open(facts[0]['path']) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        assert video.profile == 'High' and video.codec_context.has_b_frames
        assert (audio.sample_rate, audio.codec_context.channels) == (44100, 2)
    assert 'balanced_train_segments.csv' in os.listdir(tmp_path / 'clips')
    out = run_stages(str(tmp_path / 'clips'), crop_size=32)
    figures = out['48p']
    assert 0 < figures['thrown away: + skip non-reference frames'] < \
        figures['thrown away: from keyframe before window'] < 1
    assert figures['total current'] > 0
    json.dumps(out)


def test_mono_at_rate_skips_the_resampler(tmp_path):
    """16 kHz mono AAC (a compact copy's audio) is read as decoded, and equals the
    libswresample pass it now skips."""
    from data_helpers import write_audio_mp4
    from mavilkit.datasets.transforms import LoadAudio
    from mavilkit.datasets.transforms.loading import MonoResampler
    t = np.arange(32000) / 16000
    path = write_audio_mp4(tmp_path / 'm.mp4', (0.3 * np.sin(2 * np.pi * 440 * t))[None],
                           sample_rate=16000)
    with av.open(path) as container:
        frames = list(container.decode(audio=0))
    decoded = np.concatenate([f.to_ndarray().reshape(-1) for f in frames])
    through_graph = MonoResampler(16000)
    through_graph._configure(frames[0])  # force the filter graph
    chunks = [c for f in frames for c in through_graph.push(f)] + through_graph.push(None)
    waveform = LoadAudio(backend='pyav')(dict(filename=path))['waveform']
    np.testing.assert_array_equal(waveform, decoded)
    np.testing.assert_allclose(waveform, np.concatenate(chunks), atol=1e-7)


def test_sample_video_frames_pyav_rejects_cut_webm(tmp_path):
    """A WebM download cut at half its size is unreadable, as for SampleVideoFrames."""
    from test_data_real_world_media import write_av
    path = write_av(tmp_path / 'full.webm', 'libvpx-vp9', 'libopus', seconds=6.)
    out = SampleVideoFramesPyAV(clip_len=4, frame_rate=2, test_mode=True)(dict(filename=path))
    assert out['frame_inds'].tolist() == [[20, 25, 30, 35]]  # 10 fps, the middle 2 s of 6 s
    data = open(path, 'rb').read()
    cut = tmp_path / 'cut.webm'
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(MediaReadError, match=r'cut\.webm.*truncated'):
        SampleVideoFramesPyAV(test_mode=True)(dict(filename=str(cut)))
