"""More real-world files than issue 10's examples: other channel layouts, cut downloads,
annotation files as other editors save them. Each test writes a tiny file and compares with a
value computed here, independently of the readers."""
import av
import numpy as np
import pytest
import soundfile

from mavilkit.datasets.errors import MediaReadError
from mavilkit.datasets.transforms import LoadAudio, SampleVideoFrames

SQRT1_2 = np.sqrt(0.5)
#: FFmpeg's default downmix weights to mono, from its documentation (front pair and back /
#: side pairs at -3 dB, centre at 0 dB, LFE dropped), before normalising to a sum of 1.
FFMPEG_MONO = dict(FL=SQRT1_2, FR=SQRT1_2, FC=1., LFE=0., BL=.5, BR=.5, SL=.5, SR=.5)


def _channel_weights(waveform, freqs, amplitude, rate=16000):
    """Weight of each channel's tone in a mono waveform (one DFT bin per tone, edges cut)."""
    w = np.asarray(waveform[4000:-4000], np.float64)
    t = np.arange(w.size) / rate
    return np.array([2 * abs(np.dot(w, np.exp(-2j * np.pi * f * t))) / w.size / amplitude
                     for f in freqs])


@pytest.mark.parametrize('layout', ['quad', '3.0', '5.1(side)'])
def test_soundfile_reader_uses_the_channel_mask(tmp_path, layout):
    # A WAV with a channel mask (WAVE_FORMAT_EXTENSIBLE): channel k holds a tone of its own.
    # soundfile gives no layout; guessing it from the channel count read quad as 4.0
    # (weights .24 .24 .34 .17 instead of .29 .29 .21 .21) and 3.0 as 2.1 (centre dropped).
    names = [c.name for c in av.AudioLayout(layout).channels]
    freqs = [300 + 170 * k for k in range(len(names))]
    t = np.arange(3 * 16000) / 16000
    data = np.stack([0.3 * np.sin(2 * np.pi * f * t) for f in freqs]).astype(np.float32)
    path = str(tmp_path / 'multi.wav')
    with av.open(path, 'w') as container:
        stream = container.add_stream('pcm_s16le', rate=16000, layout=layout)
        for start in range(0, data.shape[1], 1600):
            chunk = np.ascontiguousarray(data[:, start:start + 1600].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, 'flt', layout)
            frame.sample_rate, frame.pts = 16000, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    assert soundfile.info(path).channels == len(names)
    raw = np.array([FFMPEG_MONO[n] for n in names])
    expected = raw / raw.sum()
    for backend in ('soundfile', 'pyav', 'decord', 'auto'):
        waveform = LoadAudio(backend=backend)(dict(audio_path=path))['waveform']
        np.testing.assert_allclose(_channel_weights(waveform, freqs, 0.3), expected, atol=2e-3,
                                   err_msg=backend)


def _write_faststart_mp4(path, seconds=6, fps=10):
    """H.264 frames of value 4·i with the index (moov) at the front, as streaming sites
    serve them, so that a cut file still opens."""
    with av.open(path, 'w', options={'movflags': 'faststart'}) as container:
        stream = container.add_stream('libx264', rate=fps)
        stream.width = stream.height = 32
        stream.pix_fmt = 'yuv420p'
        for i in range(seconds * fps):
            img = np.full((32, 32, 3), 4 * i, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, 'rgb24')):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_cut_video_is_unreadable_not_shorter(tmp_path):
    # A download cut at half its size: the demuxer stops quietly after ~3 of the 6 s, and the
    # PyAV reader took the frames left for a 3-s video (test clip [0, 5, ..., 25, 1, 6]: a
    # wrap inside a file that lasts 6 s). Like cut audio, it is an unreadable file.
    path = _write_faststart_mp4(str(tmp_path / 'full.mp4'))
    # the whole file: the middle 4 s of 6 s are frames 10, 15, ..., 45
    for backend in ('decord', 'pyav'):
        results = SampleVideoFrames(test_mode=True, backend=backend)(dict(filename=path))
        assert results['frame_inds'].tolist() == [list(range(10, 50, 5))], backend
    data = open(path, 'rb').read()
    cut = str(tmp_path / 'cut.mp4')
    with open(cut, 'wb') as f:
        f.write(data[:len(data) // 2])
    for backend in ('pyav', 'auto'):
        with pytest.raises(MediaReadError, match=r'cut\.mp4.*truncated'):
            SampleVideoFrames(test_mode=True, backend=backend)(dict(filename=cut))


# ------------------------------------------------------------------ annotation files
VGGSOUND_CSV = ('a1,0,"cattle, bovinae cowbell",train\nb2,30,dog barking,test\n'
                'c3,5,"cattle, bovinae cowbell",train\n')
LABELS_CSV = ('index,mid,display_name\n0,/m/09x0r,"Speech"\n'
              '1,/m/0ytgt,"Child speech, kid speaking"\n')


def _vggsound(tmp_path, text):
    from mavilkit.registry import DATASETS
    from mavilkit.utils.setup_env import register_all_modules
    register_all_modules()
    (tmp_path / 'v').mkdir(exist_ok=True)
    for name in ('a1_000000.mp4', 'b2_000030.mp4', 'c3_000005.mp4'):
        (tmp_path / 'v' / name).write_bytes(b'x')
    (tmp_path / 'vgg.csv').write_bytes(text.encode('utf-8'))
    dataset = DATASETS.build(dict(type='VGGSoundDataset', ann_file=str(tmp_path / 'vgg.csv'),
                                  data_prefix=dict(video=str(tmp_path / 'v')), pipeline=[]))
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return [(i['clip_id'], i['gt_label']) for i in infos], dataset.metainfo['classes']


@pytest.mark.parametrize('blank', [' ', '\t', '\u00a0', ' \t'])
def test_blanks_before_a_quoted_field(tmp_path, blank):
    # A blank after the comma made the quote an ordinary character: the quoted label was
    # split in two and the file refused (VGGSound) as were class names with a comma.
    expected = ([('a1_0', [0]), ('c3_5', [0])], ('cattle, bovinae cowbell', 'dog barking'))
    assert _vggsound(tmp_path, VGGSOUND_CSV) == expected
    assert _vggsound(tmp_path, VGGSOUND_CSV.replace(',', ',' + blank).replace(
        'cattle,' + blank, 'cattle, ')) == expected
    from mavilkit.datasets.utils import read_class_labels_indices
    path = tmp_path / 'labels.csv'
    path.write_text('\ufeff' + LABELS_CSV.replace(',', ',' + blank).replace(
        'speech,' + blank, 'speech, ').replace('\n', '\r\n'), encoding='utf-8')
    assert read_class_labels_indices(str(path)) == (
        {'/m/09x0r': 0, '/m/0ytgt': 1}, ['Speech', 'Child speech, kid speaking'])


def test_semicolon_csv_is_refused_with_the_reason(tmp_path):
    text = 'a1;0;"cattle, bovinae cowbell";train\nb2;30;dog barking;test\n'
    with pytest.raises(ValueError, match=r"vgg\.csv:1: .*separated by ';'"):
        _vggsound(tmp_path, text)
    from mavilkit.datasets.audioset import parse_audioset_segments
    path = tmp_path / 'seg.csv'
    path.write_text('# YTID, start_seconds, end_seconds, positive_labels\n'
                    'a1;0.000;10.000;"/m/09x0r,/m/0ytgt"\n')
    with pytest.raises(ValueError, match=r"seg\.csv:2: .*separated by ';'"):
        list(parse_audioset_segments(str(path)))


# ------------------------------------------------------------------ identity / exports
@pytest.mark.slow
def test_extract_features_lists_missing_files(tmp_path, capsys):
    # A listed clip whose file is missing was dropped at start-up with a warning, and the
    # export printed "Wrote 2 clips" without naming it: the .npz did not say a clip was absent.
    import os

    import torch

    from data_helpers import demo_dataset_cfg, make_demo_data
    from mavilkit.registry import DATASETS, MODELS
    from test_finetune_extract_features import CONFIG, MODEL, PIPELINE, extract_features
    root = make_demo_data(tmp_path / 'demo', num_clips=12, duration=3., size=32)  # 3 eval clips
    dataset = demo_dataset_cfg(root, PIPELINE, split='eval', test_mode=True)
    infos = [DATASETS.build(dataset).get_data_info(i) for i in range(3)]
    os.remove(infos[0]['filename'])
    (tmp_path / 'cfg.py').write_text(CONFIG.format(model=MODEL, dataset=dataset))
    torch.manual_seed(0)
    ckpt = tmp_path / 'ft.pth'
    torch.save(dict(state_dict=MODELS.build(MODEL).state_dict()), ckpt)
    out = tmp_path / 'feats.npz'
    extract_features.main([str(tmp_path / 'cfg.py'), str(ckpt), '--out', str(out),
                           '--device', 'cpu'])
    feats = np.load(out)
    assert list(feats['clip_index']) == [1, 2]
    assert list(feats['unreadable_clip_ids']) == [infos[0]['clip_id']]
    assert list(feats['unreadable_paths']) == [infos[0]['filename']]
    assert list(feats['unreadable_reasons']) == ['file not found']
    printed = capsys.readouterr().out
    assert 'Wrote 2 clips' in printed and '1 clips could not be read' in printed


def test_cut_webm_is_unreadable_not_shorter(tmp_path):
    # WebM / Matroska streams declare no duration of their own, only the file does: a
    # YouTube download cut at half its size read as a 3-s clip, audio and video alike.
    from test_data_real_world_media import write_av
    path = write_av(tmp_path / 'full.webm', 'libvpx-vp9', 'libopus', seconds=6.)
    # the whole file: 6 s at 10 fps, the middle 2 s start at 2 s
    results = SampleVideoFrames(clip_len=4, frame_rate=2, test_mode=True)(dict(filename=path))
    assert results['frame_inds'].tolist() == [[20, 25, 30, 35]]
    assert abs(LoadAudio()(dict(filename=path))['waveform'].size / 16000 - 6.) < 0.05
    data = open(path, 'rb').read()
    cut = str(tmp_path / 'cut.webm')
    with open(cut, 'wb') as f:
        f.write(data[:len(data) // 2])
    for backend in ('decord', 'pyav'):
        with pytest.raises(MediaReadError, match=r'cut\.webm.*truncated'):
            SampleVideoFrames(test_mode=True, backend=backend)(dict(filename=cut))
    for backend in ('auto', 'pyav', 'decord'):
        with pytest.raises(MediaReadError, match=r'cut\.webm.*truncated'):
            LoadAudio(backend=backend)(dict(filename=cut))
