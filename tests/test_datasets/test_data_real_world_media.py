"""Media made like real downloads (issue 10): variable frame rate, shifted timestamps, every
codec the bundled FFmpeg decodes, multichannel audio, clips without a stream. Each test writes a
tiny file and compares with a value computed here, independently of the readers."""
import fractions
import json
import os.path as osp
import subprocess
import sys

import av
import numpy as np
import pytest

from data_helpers import write_label_file, write_mp4
from mavilkit.datasets.errors import MediaReadError, MissingStreamError
from mavilkit.datasets.transforms import AudioFbank, LoadAudio, SampleVideoFrames
from mavilkit.registry import DATASETS
from mavilkit.utils.setup_env import register_all_modules

SQRT1_2 = np.sqrt(0.5)
#: FFmpeg's default downmix to mono (libswresample: centre and surround at -3 dB, then -3 dB
#: again to fold a pair onto the centre, LFE dropped), written out from its documentation.
FFMPEG_MONO_COEFFS = dict(FL=SQRT1_2, FR=SQRT1_2, FC=1., LFE=0., BL=.5, BR=.5, SL=.5, SR=.5)


def _codec_available(name):
    try:
        av.codec.Codec(name, 'w')
        return True
    except Exception:
        return False


def write_timed_video(path, frame_pts, time_base=fractions.Fraction(1, 30), last_duration=6,
                      size=32, codec='libx264rgb'):
    """Frames of value ``i`` (lossless RGB H.264) at the presentation times ``frame_pts`` (in
    ``time_base`` units); packet durations follow the timestamps, the last lasts
    ``last_duration``."""
    durations = dict(zip(frame_pts, list(np.diff(frame_pts)) + [last_duration]))
    with av.open(str(path), 'w') as container:
        stream = container.add_stream(codec, rate=30)
        stream.width = stream.height = size
        stream.time_base = stream.codec_context.time_base = time_base
        stream.pix_fmt = 'rgb24'
        stream.options = {'qp': '0'}

        def mux(packets):
            for packet in packets:
                packet.duration = int(durations[packet.pts])
                container.mux(packet)

        for i, pts in enumerate(frame_pts):
            frame = av.VideoFrame.from_ndarray(np.full((size, size, 3), i, np.uint8),
                                               format='rgb24')
            frame.pts, frame.time_base = int(pts), time_base
            mux(stream.encode(frame))
        mux(stream.encode())
    return str(path)


# 5 s at 30 fps, then 5 s at 5 fps: 175 frames (the example), in 1/30 s units
VFR_PTS = list(range(150)) + [150 + 6 * k for k in range(25)]


def shown_at(t):
    """Index of the frame of the VFR clip shown at ``t`` seconds, from its schedule."""
    return int(np.floor(30 * t + 1e-9)) if t < 5 else 150 + int(np.floor(5 * (t - 5) + 1e-9))


@pytest.mark.parametrize('offset', [0, 45])  # first timestamp 0 or 1.5 s
@pytest.mark.parametrize('backend', ['decord', 'pyav'])
def test_vfr_frames_follow_presentation_timestamps(tmp_path, backend, offset):
    path = write_timed_video(tmp_path / 'vfr.mp4', [p + offset for p in VFR_PTS])
    results = SampleVideoFrames(clip_len=8, frame_rate=2, test_mode=True,
                                backend=backend)(dict(filename=path))
    expected = [shown_at(3.0 + i / 2) for i in range(8)]  # the middle 4 s of 10 s
    assert expected == [90, 105, 120, 135, 150, 152, 155, 157]
    assert results['frame_inds'].tolist() == [expected]
    # lossless frames: the pixels are the frame's own index
    assert results['imgs'].reshape(8, -1).max(1).tolist() == expected
    assert results['imgs'].reshape(8, -1).min(1).tolist() == expected
    np.testing.assert_allclose(results['frame_times'][0],
                               [VFR_PTS[i] / 30 for i in expected], atol=1e-6)


@pytest.mark.parametrize('backend', ['decord', 'pyav'])
def test_vfr_training_and_multi_clip_windows(tmp_path, backend, monkeypatch):
    path = write_timed_video(tmp_path / 'vfr.mp4', VFR_PTS)
    monkeypatch.setattr(np.random, 'uniform', lambda low, high, size: np.full(size, 1.3))
    inds = SampleVideoFrames(backend=backend)(dict(filename=path))['frame_inds']
    assert inds.tolist() == [[shown_at(1.3 + i / 2) for i in range(8)]]
    inds = SampleVideoFrames(num_clips=3, test_mode=True, backend=backend)(
        dict(filename=path))['frame_inds']
    starts = [0., 3., 6.]  # evenly from 0 to 10 - 4 s (issue 11 §7)
    assert inds.tolist() == [[shown_at(s + i / 2) for i in range(8)] for s in starts]


def test_video_shorter_than_audio_and_late_first_frame(tmp_path):
    # AAC audio 6 s from 0 s; video 3 s at 10 fps starting at 1 s
    path = str(tmp_path / 'late.mp4')
    with av.open(path, 'w') as container:
        video = container.add_stream('libx264rgb', rate=10)
        video.width = video.height = 32
        video.pix_fmt, video.options = 'rgb24', {'qp': '0'}
        audio = container.add_stream('aac', rate=16000, layout='mono')
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), i, np.uint8), 'rgb24')
            frame.pts, frame.time_base = 10 + i, fractions.Fraction(1, 10)
            container.mux(video.encode(frame))
        container.mux(video.encode())
        for start in range(0, 6 * 16000, 1024):
            frame = av.AudioFrame.from_ndarray(np.full((1, 1024), .1, np.float32), 'fltp',
                                               'mono')
            frame.sample_rate, frame.pts = 16000, start
            container.mux(audio.encode(frame))
        container.mux(audio.encode())
    for backend in ('decord', 'pyav'):
        results = SampleVideoFrames(test_mode=True, backend=backend)(dict(filename=path))
        # 3 s of video: no room, start 0 at the first frame, wrap after 3 s (frame i at i/10 s)
        assert results['frame_inds'].tolist() == [[0, 5, 10, 15, 20, 25, 0, 5]], backend
        assert results['imgs'].reshape(8, -1).max(1).tolist() == [0, 5, 10, 15, 20, 25, 0, 5]


# ------------------------------------------------------------------------- codecs
def _tone(seconds, rate):
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.4 * np.sin(2 * np.pi * 440 * t), 0.2 * np.sin(2 * np.pi * 660 * t)])


def write_av(path, vcodec, acodec, fmt=None, seconds=3., rate=48000, fps=10, size=32):
    """Frames of value ``20 * i mod 250`` and a stereo tone (L 440 Hz, R 660 Hz)."""
    wave = _tone(seconds, rate).astype(np.float32)
    with av.open(str(path), 'w', format=fmt) as container:
        vs = None
        if vcodec:
            vs = container.add_stream(vcodec, rate=fps)
            vs.width = vs.height = size
            vs.pix_fmt = 'yuv420p'
        aus = container.add_stream(acodec, rate=rate, layout='stereo') if acodec else None
        if vs is not None:
            for i in range(int(seconds * fps)):
                img = np.full((size, size, 3), (20 * i) % 250, np.uint8)
                container.mux(vs.encode(av.VideoFrame.from_ndarray(img, 'rgb24')))
            container.mux(vs.encode())
        if aus is not None:
            for start in range(0, wave.shape[1], 960):
                chunk = np.ascontiguousarray(wave[:, start:start + 960].T).reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(chunk, 'flt', 'stereo')
                frame.sample_rate, frame.pts = rate, start
                container.mux(aus.encode(frame))
            container.mux(aus.encode())
    return str(path)


def _rms(x):
    return float(np.sqrt(np.mean(np.square(np.asarray(x, np.float64)))))


EXPECTED_RMS = _rms(_tone(10., 16000).mean(0))  # mono = (L + R) / 2


CONTAINERS = [  # name, video codec, audio codec, format
    ('clip.mp4', 'libx264', 'aac', None),
    ('clip_av1.mp4', 'libsvtav1' if _codec_available('libsvtav1') else 'libaom-av1', 'aac',
     None),
    ('clip.webm', 'libvpx-vp9', 'libopus', None),
    ('clip.mkv', 'libx264', 'flac', None),
    ('audio.m4a', None, 'aac', 'mp4'),
    ('audio.ogg', None, 'libopus', 'ogg'),
    ('audio.flac', None, 'flac', None),
    ('audio.wav', None, 'pcm_s16le', None),
]


@pytest.mark.parametrize('name,vcodec,acodec,fmt', CONTAINERS)
def test_every_container_and_codec_is_read(tmp_path, name, vcodec, acodec, fmt):
    if vcodec and not _codec_available(vcodec):
        pytest.skip(f'no {vcodec} encoder in this FFmpeg')
    path = write_av(tmp_path / name, vcodec, acodec, fmt)
    key = 'filename' if vcodec else 'audio_path'
    wave = LoadAudio()({key: path})['waveform']
    assert abs(wave.size / 16000 - 3.) < 0.1
    middle = wave[4000:-4000]
    assert abs(_rms(middle) / EXPECTED_RMS - 1) < 0.03, name
    if vcodec:
        results = SampleVideoFrames(clip_len=4, frame_rate=2, test_mode=True)(
            dict(filename=path))
        # 3 s at 10 fps, a 2 s clip in the middle: frames shown at 0.5, 1.0, 1.5, 2.0 s
        assert results['frame_inds'].tolist() == [[5, 10, 15, 20]]
        np.testing.assert_allclose(results['imgs'].reshape(4, -1).mean(1),
                                   [100, 200, (20 * 15) % 250, (20 * 20) % 250], atol=4)


def test_av1_is_read_by_pyav_when_decord_cannot(tmp_path):
    vcodec = CONTAINERS[1][1]
    if not _codec_available(vcodec):
        pytest.skip('no AV1 encoder')
    path = write_av(tmp_path / 'av1.mp4', vcodec, 'aac')
    with pytest.raises(MediaReadError, match=r'av1\.mp4.*video stream #0 \(av1, 32x32\)'):
        SampleVideoFrames(backend='decord')(dict(filename=path))
    assert SampleVideoFrames()(dict(filename=path))['imgs'].shape == (8, 32, 32, 3)


def test_errors_name_file_stream_and_codec(tmp_path):
    good = write_av(tmp_path / 'a.mp4', 'libx264', 'aac')
    data = bytearray(open(good, 'rb').read())
    n = len(data)
    noise = np.random.default_rng(0).integers(0, 256, n * 3 // 4 - n // 8, np.uint8)
    data[n // 8:n * 3 // 4] = noise.tobytes()
    bad = tmp_path / 'bad.mp4'
    bad.write_bytes(bytes(data))  # header (moov at the end) intact, payload garbage
    with pytest.raises(MediaReadError, match=r'bad\.mp4.*audio stream #1 \(aac, stereo, 48000'):
        LoadAudio()(dict(filename=str(bad)))
    with pytest.raises(MediaReadError, match=r'bad\.mp4.*video stream #0 \(h264, 32x32\)'):
        SampleVideoFrames()(dict(filename=str(bad)))


def test_json_datafile_wav_entries_may_be_m4a_and_webm(tmp_path):
    register_all_modules()
    write_av(tmp_path / 'a.m4a', None, 'aac', 'mp4')
    write_av(tmp_path / 'b.webm', None, 'libopus', 'webm')
    labels = write_label_file(tmp_path / 'labels.csv', [('/m/a', 'A')])
    ann = tmp_path / 'data.json'
    ann.write_text(json.dumps(dict(data=[
        dict(video_id='a', wav=str(tmp_path / 'a.m4a'), labels='/m/a'),
        dict(video_id='b', wav=str(tmp_path / 'b.webm'), labels='/m/a')])))
    dataset = DATASETS.build(dict(type='AVJsonDataset', ann_file=str(ann), label_file=labels,
                                  modality=('audio', ), pipeline=[dict(type='LoadAudio')]))
    for i in range(2):
        wave = dataset.prepare_data(i)['waveform']
        assert abs(_rms(wave[4000:-4000]) / EXPECTED_RMS - 1) < 0.03
    assert not dataset.bad_media


# ------------------------------------------------------------------------- downmix
LAYOUTS = dict(mono=['FC'], stereo=['FL', 'FR'], quad=['FL', 'FR', 'BL', 'BR'],
               **{'5.1': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR'],
                  '7.1': ['FL', 'FR', 'FC', 'LFE', 'BL', 'BR', 'SL', 'SR']})


def write_layout(path, layout, seconds=2., rate=48000):
    """AAC with one tone per channel (frequency 300 + 150 k Hz, amplitude 0.5); returns the
    expected mono at 16 kHz (normalised FFmpeg downmix) computed from the tones."""
    channels = LAYOUTS[layout]
    with av.open(str(path), 'w') as container:
        stream = container.add_stream('aac', rate=rate, layout=layout)
        t = np.arange(int(seconds * rate)) / rate
        wave = np.stack([0.5 * np.sin(2 * np.pi * (300 + 150 * k) * t)
                         for k in range(len(channels))]).astype(np.float32)
        for start in range(0, wave.shape[1], 1024):
            chunk = np.ascontiguousarray(wave[:, start:start + 1024].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(chunk, 'flt', layout)
            frame.sample_rate, frame.pts = rate, start
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    coeffs = np.array([FFMPEG_MONO_COEFFS[c] for c in channels])
    t16 = np.arange(int(seconds * 16000)) / 16000
    tones = np.stack([0.5 * np.sin(2 * np.pi * (300 + 150 * k) * t16)
                      for k in range(len(channels))])
    return str(path), coeffs @ tones / coeffs.sum()


# 7.1 runs a child process first (the former reader crashed there): the slow tier
@pytest.mark.parametrize('layout', [pytest.param(k, marks=pytest.mark.slow) if k == '7.1' else k
                                    for k in LAYOUTS])
def test_one_downmix_whichever_reader(tmp_path, layout):
    path, expected = write_layout(tmp_path / f'{layout}.m4a', layout)
    mid = slice(4000, 28000)
    if layout == '7.1':  # the former reader crashed the process here: check in a child first
        code = ('from mavilkit.datasets.transforms import LoadAudio; '
                f'print(LoadAudio(backend="pyav")(dict(filename={path!r}))["waveform"].size)')
        child = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                               timeout=120)
        assert child.returncode == 0, child.stderr[-2000:]
    waves = {b: LoadAudio(backend=b)(dict(filename=path))['waveform']
             for b in ('pyav', 'decord')}
    for backend, wave in waves.items():
        assert abs(_rms(wave[mid]) - _rms(expected[mid])) < 0.01 * _rms(expected[mid]), backend
    # PyAV is sample-aligned with the source: the waveform itself (AAC coding error only)
    assert _rms(waves['pyav'][mid] - expected[mid]) < 0.05 * _rms(expected[mid])
    assert abs(_rms(waves['pyav'][mid]) - _rms(waves['decord'][mid])) < 1e-3


def test_soundfile_and_pyav_give_the_same_samples(tmp_path):
    import soundfile
    rng = np.random.default_rng(0)
    for channels in (1, 2, 6):
        data = (0.2 * rng.standard_normal((44100, channels))).astype(np.float32)
        path = str(tmp_path / f'{channels}.wav')
        soundfile.write(path, data, 44100, subtype='FLOAT')
        by_sf = LoadAudio(backend='soundfile')(dict(audio_path=path))['waveform']
        by_av = LoadAudio(backend='pyav')(dict(audio_path=path))['waveform']
        assert by_sf.shape == by_av.shape == (16000, )
        assert _rms(by_sf - by_av) < 1e-6, channels
    # stereo at the source rate is exactly the channel mean
    path = str(tmp_path / 'st16.wav')
    soundfile.write(path, data[:, :2], 16000, subtype='FLOAT')
    np.testing.assert_allclose(LoadAudio()(dict(audio_path=path))['waveform'],
                               data[:, :2].mean(1), atol=1e-6)


# ------------------------------------------------------------------------- missing modality
@pytest.fixture
def log_messages(monkeypatch):
    """Messages logged by the readers and datasets (mmengine's logger keeps its own stream)."""
    import mavilkit.datasets.base_av_dataset as dataset_module
    import mavilkit.datasets.transforms.loading as loading_module
    messages = []
    for module in (dataset_module, loading_module):
        monkeypatch.setattr(module, 'print_log', lambda msg, **kwargs: messages.append(msg))
    return messages


def _retrieval_set(tmp_path, **kwargs):
    register_all_modules()
    write_mp4(tmp_path / 'v0.mp4', duration=2., fps=10)
    write_mp4(tmp_path / 'v1.mp4', duration=2., fps=10, with_audio=False)
    write_mp4(tmp_path / 'v2.mp4', duration=2., fps=10)
    ann = tmp_path / 'list.txt'
    ann.write_text(''.join(f'v{i} v{i}.mp4\n' for i in range(3)))
    pipeline = [dict(type='LoadAudio'), dict(type='AudioFbank', target_length=256),
                dict(type='SampleVideoFrames', clip_len=4, test_mode=True),
                dict(type='VideoResizeCenterCrop', size=32), dict(type='PackAVInputs')]
    return DATASETS.build(dict(type='RetrievalListDataset', ann_file=str(ann),
                               data_prefix=dict(video=str(tmp_path)), pipeline=pipeline,
                               test_mode=True, **kwargs))


def test_missing_audio_zeros_by_default_for_retrieval(tmp_path, log_messages):
    dataset = _retrieval_set(tmp_path)
    assert len(dataset) == 3
    samples = [dataset[i] for i in range(3)]
    log = '\n'.join(log_messages)
    assert [s['data_samples'].clip_id for s in samples] == ['v0', 'v1', 'v2']
    # silence: Kaldi fbank floors at float32 eps, log(1.19e-7) = -15.94, then (x + 4.268) / 9.138
    silent = AudioFbank(target_length=256)(dict(waveform=np.zeros(32000, np.float32)))['audio']
    np.testing.assert_allclose(samples[1]['inputs']['audio'][0].numpy(), silent)
    np.testing.assert_allclose(silent[0, 0], (np.log(np.finfo(np.float32).eps) + 4.268)
                               / (2 * 4.569), rtol=1e-5)
    assert "v1.mp4' has no audio stream" in log and 'clips filled so far' in log
    assert not dataset.bad_media


def test_missing_audio_skip_and_error(tmp_path, log_messages):
    dataset = _retrieval_set(tmp_path, missing_modality='skip')
    log = '\n'.join(log_messages)
    assert [dataset.get_data_info(i)['clip_id'] for i in range(len(dataset))] == ['v0', 'v2']
    assert '1 of 3 clips' in log and '1 without audio' in log
    with pytest.raises(MissingStreamError, match='v1.mp4: no audio stream'):
        LoadAudio(missing_modality='error')(dict(filename=str(tmp_path / 'v1.mp4')))
    with pytest.raises(ValueError, match='missing_modality'):
        _retrieval_set(tmp_path, missing_modality='ignore')


def test_missing_video_gives_black_frames(tmp_path):
    path = write_mp4(tmp_path / 'audio_only.mp4', with_video=False)
    with pytest.raises(MissingStreamError, match='no video stream'):
        SampleVideoFrames()(dict(filename=path))
    results = SampleVideoFrames(missing_modality='zeros')(dict(filename=path))
    assert results['imgs'].shape == (8, 224, 224, 3) and not results['imgs'].any()
    assert results['filled_modalities'] == ['video']


# ------------------------------------------------------------------------- check tools
@pytest.mark.slow
def test_audioset_check_clips_reports_the_facts_of_each_rule(tmp_path):
    """Four clips made to fall under known rules; the tool's counts and per-file CSV must
    match what each file was made with."""
    import csv
    root = tmp_path / 'as'
    (root / 'eval').mkdir(parents=True)
    write_timed_video(root / 'eval' / 'vfr_0_10.mp4', VFR_PTS)               # VFR, no audio
    write_av(root / 'eval' / 'av1_0_10.mp4', CONTAINERS[1][1], 'aac')       # AV1, stereo
    write_layout(root / 'eval' / 'six_0_10.mp4', '5.1')                      # 5.1, no video
    write_timed_video(root / 'eval' / 'late_0_10.mp4', list(range(45, 75)))  # starts at 1.5 s
    # CRLF line ends (a BOM is the annotation readers' business, checked below on its own)
    (root / 'eval_segments.csv').write_bytes(
        b'# YTID, start_seconds, end_seconds, positive_labels\r\n'
        + b''.join(f'{y}, 0.000, 10.000, "/m/a"\r\n'.encode()
                   for y in ('vfr', 'av1', 'six', 'late', 'gone')))
    repo = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
    out = subprocess.run([sys.executable, 'tools/data/audioset/check_clips.py', str(root),
                          '--split', 'eval_segments.csv:eval'], capture_output=True, text=True,
                         check=True, cwd=repo).stdout
    assert 'BOM none' in out and '6 CRLF line ends' in out
    assert '4 of 5 clips present' in out and '4 files probed' in out
    assert 'variable frame rate (frames by timestamp): 1' in out
    assert 'video first timestamp not 0: 1' in out
    assert 'no audio stream (missing_modality): 2' in out
    assert 'no video stream (missing_modality): 1' in out
    assert 'video av1 1' in out and 'video h264 2' in out
    assert 'audio channel layouts (downmix): 5.1 1, stereo 1' in out
    with open(root / 'missing' / 'facts_eval_segments.csv', newline='') as f:
        rows = {osp.basename(r['path']).split('_')[0]: r for r in csv.DictReader(f)}
    assert rows['vfr']['frame_rate'] == 'variable' and rows['vfr']['num_frames'] == '175'
    assert float(rows['vfr']['video_duration']) == pytest.approx(10.0)
    assert rows['late']['frame_rate'] == 'constant'
    assert float(rows['late']['video_start']) == pytest.approx(1.5)
    assert float(rows['late']['video_duration']) == pytest.approx(1.0)
    assert rows['six']['channel_layout'] == '5.1' and rows['six']['audio_codec'] == 'aac'
    assert float(rows['av1']['audio_duration']) == pytest.approx(3.0, abs=0.05)


def test_text_encoding_facts(tmp_path):
    from mavilkit.datasets.media_info import text_encoding
    path = tmp_path / 'a.csv'
    path.write_bytes(b'\xef\xbb\xbfindex,mid,display_name\r\n0,/m/a,"A" \r\n1,/m/b,B\n')
    assert text_encoding(str(path)) == dict(bom='utf-8', utf8=True, crlf=2, trailing_space=1)
    path.write_bytes('x,y\n'.encode('utf-16'))
    assert text_encoding(str(path))['bom'] == 'utf-16-le'
    assert not text_encoding(str(path))['utf8']
