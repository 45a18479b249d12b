"""Decoding of audio and video; every decoder failure becomes a ``MediaReadError``.

The rules these readers follow are stated in ``docs/en/user_guides/data_pipeline.md``
("Reading media"):

- **Readers.** Audio: soundfile (wav / flac / ogg ...), then PyAV, then decord; video: decord,
  then PyAV. When one reader cannot open or decode a file the next one is tried; the final
  error names the file, the stream and its codec.
- **Downmix.** Every reader produces FFmpeg's (libswresample's) default downmix of the stream's
  channel layout to mono, with the matrix normalised so that its coefficients sum to 1 (what
  FFmpeg applies when it writes integer samples, e.g. ``ffmpeg -i clip.mp4 -ac 1 -ar 16000
  clip.wav``): mono is unchanged, stereo is ``(L + R) / 2``, 5.1 is
  ``(C + (L + R)/√2 + (Ls + Rs)/2) / (1 + √2 + 1)`` with the LFE left out. Resampling is done by
  libswresample in the same pass, whichever reader decoded the samples.
- **Timestamps.** A time ``t`` (seconds since the first video frame) is mapped to the last frame
  whose presentation timestamp is at or before ``t``.
- **Missing modality.** A file without an audio (video) stream raises
  :class:`MissingStreamError`, or, with ``missing_modality='zeros'``, gives a silent waveform
  (black frames).
"""
import logging
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mavilkit.registry import TRANSFORMS
from ..errors import MediaReadError, MissingStreamError

#: Shortest waveform Kaldi fbank accepts: one 25 ms window at 16 kHz.
MIN_AUDIO_SAMPLES = 400
#: What to do with a clip that lacks the audio (video) stream a pipeline reads.
MISSING_MODALITY_CHOICES = ('error', 'zeros', 'skip')
#: Side of the black frames given to a clip without a video stream (``missing_modality='zeros'``);
#: the crop transforms resize them to the model's size.
BLACK_FRAME_SIZE = 224
#: Length of the silent waveform of a clip without audio whose duration is unknown (seconds).
DEFAULT_SILENCE_SECONDS = 10.
#: FFmpeg's default layout for a channel count, for readers that give no layout (soundfile).
DEFAULT_LAYOUTS = {1: 'mono', 2: 'stereo', 3: '2.1', 4: '4.0', 5: '5.0', 6: '5.1', 7: '6.1',
                   8: '7.1'}


def _first_line(error: BaseException) -> str:
    return (str(error) or type(error).__name__).splitlines()[0]


def describe_stream(path: str, modality: str) -> str:
    """``'audio stream #1 (aac, 5.1, 48000 Hz)'`` / ``'video stream #0 (av1, 64x64)'`` from the
    container header (PyAV), or why the header could not be read; never raises."""
    import av
    try:
        with av.open(path) as container:
            streams = getattr(container.streams, modality)
            if not streams:
                return f'no {modality} stream'
            stream = streams[0]
            ctx = stream.codec_context
            name = ctx.codec.canonical_name if ctx is not None else '?'  # not the decoder's
            if modality == 'audio':
                return (f'audio stream #{stream.index} ({name}, {ctx.layout.name}, '
                        f'{ctx.sample_rate} Hz)')
            return f'video stream #{stream.index} ({name}, {ctx.width}x{ctx.height})'
    except Exception as error:
        return f'{modality} stream of unknown codec (PyAV cannot open the file: ' \
               f'{_first_line(error)})'


# ---------------------------------------------------------------------------------- audio
class MonoResampler:
    """FFmpeg downmix to mono and resampling in one libswresample pass (PyAV filter graph).

    ``abuffer → aresample=ochl=mono:osr=<rate>:osf=fltp:rematrix_maxval=1 → abuffersink``.
    ``rematrix_maxval=1`` normalises the downmix matrix so that its coefficients sum to 1
    (FFmpeg leaves float output unnormalised: stereo would be ``(L + R) / √2``).

    Args:
        sample_rate (int): output rate (Hz).
        normalise (bool): normalise the matrix (True) or keep FFmpeg's float downmix (False,
            used to measure decord's gain).
    """

    def __init__(self, sample_rate: int, normalise: bool = True):
        self.sample_rate = int(sample_rate)
        self.normalise = normalise
        self.graph: Any = None  # av.filter.Graph once the first frame is seen
        self.key: Optional[tuple] = None

    def _configure(self, frame) -> None:
        import av
        graph = av.filter.Graph()
        src = graph.add_abuffer(format=frame.format.name, sample_rate=frame.sample_rate,
                                layout=frame.layout.name, time_base=frame.time_base)
        options = f'ochl=mono:osr={self.sample_rate}:osf=fltp'
        if self.normalise:
            options += ':rematrix_maxval=1'
        resample = graph.add('aresample', options)
        sink = graph.add('abuffersink')
        src.link_to(resample)
        resample.link_to(sink)
        graph.configure()
        self.graph = graph
        self.key = (frame.format.name, frame.sample_rate, frame.layout.name)

    def _pull(self) -> List[np.ndarray]:
        import av
        out: List[np.ndarray] = []
        while True:
            try:
                out.append(self.graph.pull().to_ndarray().reshape(-1))
            except (av.error.BlockingIOError, av.error.EOFError):
                return out

    def push(self, frame) -> List[np.ndarray]:
        """Mono chunks (float32 ``(n,)``) available after ``frame``; ``None`` flushes."""
        if frame is None:
            if self.graph is None:
                return []
            self.graph.push(None)
            return self._pull()
        out = []
        key = (frame.format.name, frame.sample_rate, frame.layout.name)
        if self.graph is None and key[1:] == (self.sample_rate, 'mono') and \
                key[0] in ('fltp', 'flt'):
            # Already float mono at the rate (e.g. a compact copy from prepare_clips.py):
            # libswresample would copy it unchanged, after ~6 ms of filter-graph set-up.
            return [frame.to_ndarray().reshape(-1)]
        if self.graph is not None and key != self.key:  # a stream that changes its layout
            out += self.push(None)
        if self.graph is None or key != self.key:
            self._configure(frame)
        self.graph.push(frame)
        return out + self._pull()


def _concat(chunks: List[np.ndarray]) -> np.ndarray:
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks).astype(np.float32, copy=False)


def downmix_array(data: np.ndarray, rate: int, sample_rate: int, layout: str,
                  normalise: bool = True) -> np.ndarray:
    """FFmpeg downmix + resampling (:class:`MonoResampler`) of float ``(L, C)`` samples."""
    import av
    data = np.ascontiguousarray(data, np.float32)
    if data.shape[0] == 0:
        return np.zeros(0, np.float32)
    # packed (interleaved) samples: PyAV 18 mishandles planar frames of 8 or more channels
    frame = av.AudioFrame.from_ndarray(data.reshape(1, -1), format='flt', layout=layout)
    frame.sample_rate = int(rate)
    frame.pts = 0
    resampler = MonoResampler(sample_rate, normalise)
    return _concat(resampler.push(frame) + resampler.push(None))


@lru_cache(maxsize=64)
def ffmpeg_downmix_gain(layout: str) -> float:
    """Sum of the coefficients of FFmpeg's unnormalised float downmix of ``layout`` to mono
    (1 for mono, √2 for stereo, 1 + √2 + 1 for 5.1): a constant 1 on every channel, downmixed
    without normalisation."""
    import av
    channels = len(av.AudioLayout(layout).channels)
    ones = np.ones((4096, channels), np.float32)
    return float(np.median(downmix_array(ones, 16000, 16000, layout, normalise=False)))


def _first_audio_stream(container, path: str):
    """The first audio stream of an open PyAV container and the duration its header declares
    (seconds, None when unknown); :class:`MissingStreamError` when there is none."""
    if not container.streams.audio:
        raise MissingStreamError(path, 'audio')
    stream = container.streams.audio[0]
    declared = None
    if stream.duration is not None and stream.time_base is not None:
        declared = float(stream.duration * stream.time_base)
    return stream, declared


def read_audio_pyav(path: str, sample_rate: int) -> Tuple[np.ndarray, Optional[float]]:
    """Mono waveform (FFmpeg downmix, see :class:`MonoResampler`) of the first audio stream
    decoded by PyAV, and the duration its header declares (seconds, None when unknown)."""
    import av
    with av.open(path) as container:
        stream, declared = _first_audio_stream(container, path)
        resampler = MonoResampler(sample_rate)
        chunks = []
        for frame in container.decode(stream):
            chunks += resampler.push(frame)
        chunks += resampler.push(None)
    return _concat(chunks), declared


def audio_stream_info(path: str) -> Tuple[Optional[float], int, str]:
    """Declared duration (seconds, None if unknown), channel count and layout name of the first
    audio stream, from the container header (PyAV)."""
    import av
    with av.open(path) as container:
        stream, declared = _first_audio_stream(container, path)
        layout = stream.codec_context.layout
        return declared, len(layout.channels), layout.name


def read_audio_decord(path: str, sample_rate: int, layout: Optional[str] = None) -> np.ndarray:
    """Mono waveform of the first audio stream with decord's ``AudioReader``.

    decord 0.6 returns uninitialised memory for the second channel with ``mono=False``, so its
    FFmpeg downmixes (``mono=True``) without normalising the matrix; the result is divided by
    the matrix's gain (:func:`ffmpeg_downmix_gain` of ``layout``, default: FFmpeg's default
    layout of the channel count) to give the same waveform as the other readers.
    """
    import decord
    reader = decord.AudioReader(path, ctx=decord.cpu(0), sample_rate=sample_rate, mono=True)
    waveform = reader[:].asnumpy().reshape(-1).astype(np.float32, copy=False)
    if layout is None:
        channels = decord.AudioReader(path, ctx=decord.cpu(0), mono=False).shape[0]
        layout = DEFAULT_LAYOUTS.get(channels, 'mono')
    return waveform / np.float32(ffmpeg_downmix_gain(layout))


def read_audio_file(path: str, sample_rate: int, layout: Optional[str] = None) -> np.ndarray:
    """Mono waveform of an audio file read by soundfile (wav / flac / ogg ...), downmixed and
    resampled by :func:`downmix_array`.

    soundfile gives no channel layout. With more than two channels the order matters (a quad
    WAV is FL FR BL BR, a 3.0 WAV FL FR FC, and the channel mask in the header says so), so
    ``layout`` defaults to the layout that PyAV reads from the header, the one the other
    readers use; only when PyAV cannot read the header is it FFmpeg's default for the channel
    count (:data:`DEFAULT_LAYOUTS`)."""
    import soundfile
    data, rate = soundfile.read(path, dtype='float32', always_2d=True)
    if layout is None and data.shape[1] > 2:
        try:
            _, channels, header_layout = audio_stream_info(path)
            if channels == data.shape[1]:
                layout = header_layout
        except Exception:  # a header PyAV cannot parse: guess from the channel count
            pass
    if layout is None:
        if data.shape[1] not in DEFAULT_LAYOUTS:
            raise ValueError(f'{data.shape[1]} channels without a known layout')
        layout = DEFAULT_LAYOUTS[data.shape[1]]
    return downmix_array(data, rate, sample_rate, layout)


def has_stream(path: str, modality: str) -> Optional[bool]:
    """Whether ``path`` holds an ``'audio'`` / ``'video'`` stream (PyAV header); None when PyAV
    cannot open the file."""
    import av
    try:
        with av.open(path) as container:
            return bool(getattr(container.streams, modality))
    except Exception:
        return None


def container_duration(path: str) -> Optional[float]:
    """Duration of the container (seconds, from its header via PyAV), None when unknown."""
    import av
    try:
        with av.open(path) as container:
            if container.duration:
                return container.duration / av.time_base
    except Exception:
        pass
    return None


def check_not_cut(path: str) -> None:
    """Raise ``ValueError`` when the packets of a file whose streams declare no duration
    (Matroska / WebM, YouTube's usual download) end before 95 % of the duration its header
    declares: a download cut short. Demuxes every stream (no decoding); a file with per-stream
    durations (mp4, mov) is judged stream by stream by the readers instead.

    Every stream of a cut file ends early, so the file is judged by its longest stream: a
    video legitimately shorter than its audio (or the reverse) passes.
    """
    import av
    try:
        container = av.open(path)
    except Exception:  # a header PyAV cannot read: the reader that opened it decides
        return
    with container:
        if not container.duration or any(s.duration for s in container.streams
                                         if s.type in ('audio', 'video')):
            return
        declared = container.duration / av.time_base
        start = (container.start_time or 0) / av.time_base
        end = None
        for packet in container.demux():
            if packet.pts is None or packet.time_base is None:
                continue
            stop = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            end = stop if end is None else max(end, stop)
    if end is not None and end - start < 0.95 * declared:
        raise ValueError(f'the file declares {declared:.2f} s but its packets end at '
                         f'{end - start:.2f} s (truncated or corrupt file)')


_NUM_FILLED: Dict[str, int] = {'audio': 0, 'video': 0}


def _fill_missing(error: MissingStreamError, policy: str, what: str) -> None:
    """Re-raise ``error`` unless ``policy`` is ``'zeros'``; count and log each filled clip."""
    if policy != 'zeros':
        raise error
    _NUM_FILLED[error.modality] += 1
    print_log(f'{error.path!r} has no {error.modality} stream: {what} is used instead '
              f"(missing_modality='zeros'; {_NUM_FILLED[error.modality]} clips filled so far "
              'in this process)', logger='current', level=logging.WARNING)


def _check_policy(missing_modality: Optional[str]) -> None:
    if missing_modality is not None and missing_modality not in MISSING_MODALITY_CHOICES:
        raise ValueError(f'missing_modality must be one of {MISSING_MODALITY_CHOICES} or None, '
                         f'got {missing_modality!r}')


@TRANSFORMS.register_module()
class LoadAudio(BaseTransform):
    """Load a mono waveform at ``sample_rate``.

    From ``audio_path`` when the sample has one (any audio file: wav, flac, ogg, m4a, webm ...),
    otherwise from the audio track of the clip ``filename``. Readers are tried in order until
    one decodes the file: soundfile (audio files with one or two channels), PyAV, decord. Every
    reader gives the same waveform: FFmpeg's default downmix of the stream's layout to mono with
    the matrix normalised to a sum of 1 (stereo: ``(L + R) / 2``; 5.1: centre 0.29, front pair
    0.21 each, surround pair 0.15 each, LFE 0), resampled by libswresample. See
    ``docs/en/user_guides/data_pipeline.md`` ("Reading media") for what this means for the
    fbank statistics of other layouts, and ``docs/en/design.md`` for reader timings.

    Errors: :class:`MediaReadError` naming the file, the audio stream and its codec when no
    reader decodes it, when it holds less than one 25 ms window or non-finite samples, or when
    it decodes to less than 95 % of the duration its header declares (decoders stop silently at
    corrupt data). A file without an audio stream raises :class:`MissingStreamError` unless the
    missing-modality policy is ``'zeros'``: then the waveform is silence lasting the container's
    duration (10 s when unknown) and the clip is logged with a running count. Audio shorter
    than 10 s is fine: ``AudioFbank`` zero-pads it.

    Required Keys: ``filename`` or ``audio_path``

    Optional Keys: ``missing_modality`` (set by :class:`~mavilkit.datasets.BaseAVDataset`)

    Added Keys: ``waveform`` (float32 ``(L,)``), ``sample_rate``, ``filled_modalities`` (list,
    ``['audio']`` when silence was used)

    Args:
        sample_rate (int): output sampling rate in Hz. Defaults to 16000 (the paper's).
        backend (str): ``'auto'`` (the order above), or a single reader: ``'soundfile'``,
            ``'pyav'`` or ``'decord'``.
        missing_modality (str, optional): ``'error'`` or ``'zeros'`` for a file without an
            audio stream. Defaults to None: the sample's ``missing_modality`` key (the
            dataset's option), else ``'error'``.
    """

    BACKENDS = ('auto', 'soundfile', 'pyav', 'decord')

    def __init__(self, sample_rate: int = 16000, backend: str = 'auto',
                 missing_modality: Optional[str] = None):
        if backend not in self.BACKENDS:
            raise ValueError(f'backend must be one of {self.BACKENDS}, got {backend!r}')
        _check_policy(missing_modality)
        self.sample_rate = sample_rate
        self.backend = backend
        self.missing_modality = missing_modality

    def _readers(self, audio_file: bool) -> Sequence[str]:
        if self.backend != 'auto':
            return (self.backend, )
        return ('soundfile', 'pyav', 'decord') if audio_file else ('pyav', 'decord')

    def _decode(self, path: str, audio_file: bool) -> np.ndarray:
        errors: List[str] = []
        readers = self._readers(audio_file)
        for name in readers:
            declared = None
            try:
                if name == 'soundfile':
                    import soundfile
                    if soundfile.info(path).channels > 2 and len(readers) > 1:
                        continue  # soundfile gives no layout: PyAV reads the channel mask
                    waveform = read_audio_file(path, self.sample_rate)
                elif name == 'pyav':
                    waveform, declared = read_audio_pyav(path, self.sample_rate)
                else:
                    try:
                        declared, _, layout = audio_stream_info(path)
                    except MissingStreamError:
                        raise
                    except Exception:  # a header PyAV cannot parse: decord may still read it
                        declared, layout = None, None
                    waveform = read_audio_decord(path, self.sample_rate, layout)
            except MissingStreamError:
                raise  # the container opens: another reader cannot find a stream either
            except Exception as error:  # each library raises its own types
                errors.append(f'{name}: {_first_line(error)}')
                continue
            if not declared and name != 'soundfile':
                try:
                    check_not_cut(path)
                except MissingStreamError:
                    raise
                except Exception as error:
                    errors.append(f'{name}: {_first_line(error)}')
                    continue
            # Decoders stop quietly at corrupt data: compare with the declared duration.
            if declared and waveform.size < 0.95 * declared * self.sample_rate:
                errors.append(f'{name}: the stream declares {declared:.2f} s but only '
                              f'{waveform.size / self.sample_rate:.2f} s decode (corrupt data)')
                continue
            return waveform
        raise MediaReadError(path, f'cannot decode the {describe_stream(path, "audio")}: '
                             + '; '.join(errors))

    def transform(self, results: dict) -> dict:
        audio_file = bool(results.get('audio_path'))
        path = results['audio_path'] if audio_file else results['filename']
        policy = self.missing_modality or results.get('missing_modality') or 'error'
        try:
            waveform = self._decode(path, audio_file)
        except MissingStreamError as error:
            seconds = container_duration(path) or DEFAULT_SILENCE_SECONDS
            _fill_missing(error, policy, f'a silent waveform of {seconds:.2f} s')
            waveform = np.zeros(max(int(round(seconds * self.sample_rate)), MIN_AUDIO_SAMPLES),
                                np.float32)
            results['filled_modalities'] = results.get('filled_modalities', []) + ['audio']
        if waveform.size < MIN_AUDIO_SAMPLES:
            raise MediaReadError(path, f'audio holds {waveform.size} samples, less than one '
                                 f'25 ms window ({MIN_AUDIO_SAMPLES})')
        if not np.isfinite(waveform).all():
            raise MediaReadError(path, 'audio holds NaN or infinite samples')
        results['waveform'] = waveform.astype(np.float32, copy=False)
        results['sample_rate'] = self.sample_rate
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(sample_rate={self.sample_rate}, '
                f'backend={self.backend!r}, missing_modality={self.missing_modality!r})')


# ---------------------------------------------------------------------------------- video
def _time_tolerance(times: np.ndarray) -> np.ndarray:
    """A time within this of a frame's timestamp reaches that frame: 1 µs plus the rounding of
    decord's float32 timestamps."""
    return 1e-6 + 2 * np.spacing(np.abs(times).astype(np.float32)).astype(np.float64)


def clip_frame_indices(frame_times: np.ndarray, duration: float, clip_len: int,
                       frame_rate: float, starts: np.ndarray) -> np.ndarray:
    """Frame indices of clips starting at ``starts`` seconds: int64 ``(K, clip_len)``.

    Frame ``i`` of a clip is the one shown at ``t = start + i / frame_rate``: the last frame
    whose timestamp (``frame_times``, seconds since the first frame, non-decreasing) is at or
    before ``t``. Times past ``duration`` (end of the last frame) wrap cyclically to the
    beginning. For a constant rate ``fps`` this is ``floor(t * fps) mod num_frames``.
    """
    frame_times = np.asarray(frame_times, np.float64)
    times = np.asarray(starts, np.float64)[:, None] + np.arange(clip_len) / frame_rate
    if duration > 0:
        times = times - np.floor((times + _time_tolerance(times)) / duration) * duration
    inds = np.searchsorted(frame_times, times + _time_tolerance(times), side='right') - 1
    return np.clip(inds, 0, len(frame_times) - 1).astype(np.int64)


def _regular_times(frame_times: np.ndarray, fps: float) -> Tuple[np.ndarray, float]:
    """Timestamps (seconds since the first frame) and the video's duration.

    The last frame lasts as long as the interval before it: containers disagree on (or omit)
    the last packet's duration, and decord misreports it when the first timestamp is not 0.
    Timestamps that are not finite and non-decreasing are replaced by a constant rate ``fps``.
    """
    n = len(frame_times)
    if not (np.isfinite(frame_times).all() and np.all(np.diff(frame_times) >= 0)):
        return np.arange(n) / fps, n / fps
    step = frame_times[-1] - frame_times[-2] if n > 1 else 0.
    return frame_times, float(frame_times[-1] + (step if step > 0 else 1. / fps))


class _DecordVideo:
    """decord's ``VideoReader`` with its frames' presentation times."""

    def __init__(self, path: str):
        import decord
        self.reader = decord.VideoReader(path, ctx=decord.cpu(0), num_threads=1)
        n = len(self.reader)
        fps = float(self.reader.get_avg_fps())
        if n <= 0 or not fps > 0:
            raise ValueError(f'{n} frames at {fps} fps')
        ts = np.asarray(self.reader.get_frame_timestamp(list(range(n))), np.float64)
        self.frame_times, self.duration = _regular_times(ts[:, 0] - ts[0, 0], fps)

    def get_frames(self, inds: np.ndarray) -> np.ndarray:
        return self.reader.get_batch(inds.tolist()).asnumpy()


class _PyAVVideo:
    """PyAV reader: timestamps from the demuxed packets, then one decoding pass that converts
    only the frames asked for."""

    def __init__(self, path: str):
        import av
        self.path = path
        with av.open(path) as container:
            if not container.streams.video:
                raise MissingStreamError(path, 'video')
            stream = container.streams.video[0]
            pts = sorted(p.pts for p in container.demux(stream)
                         if p.pts is not None and not p.is_discard)
            rate = stream.average_rate or stream.guessed_rate
            declared = (float(stream.duration * stream.time_base)
                        if stream.duration and stream.time_base else None)
        if not pts:
            raise ValueError('no video packet with a timestamp')
        if stream.time_base is None:
            raise ValueError('video stream without a time base')
        self.pts = np.array(pts, np.int64)
        fps = float(rate) if rate else 25.
        self.frame_times, self.duration = _regular_times(
            (self.pts - self.pts[0]) * float(stream.time_base), fps)
        # The demuxer stops quietly where a file is cut (a download that did not finish, with
        # its index at the front): the frames left would pass for a shorter video, so compare
        # with what the header declares, as LoadAudio does for audio.
        if declared and self.duration < 0.95 * declared:
            raise ValueError(f'the stream declares {declared:.2f} s but its packets cover only '
                             f'{self.duration:.2f} s (truncated or corrupt file)')

    def get_frames(self, inds: np.ndarray) -> np.ndarray:
        import av
        wanted = {int(i) for i in inds}
        frames = {}
        from mavilkit.utils.threads import media_threads
        with av.open(self.path) as container:
            stream = container.streams.video[0]
            # FFmpeg's default is a thread per core: the thread budget (1 in workers) instead.
            stream.codec_context.thread_count = media_threads()
            for count, frame in enumerate(container.decode(stream)):
                pos = count
                if frame.pts is not None:
                    found = int(np.searchsorted(self.pts, frame.pts))
                    if found < len(self.pts) and self.pts[found] == frame.pts:
                        pos = found
                if pos in wanted and pos not in frames:
                    frames[pos] = frame.to_ndarray(format='rgb24')
                    if len(frames) == len(wanted):
                        break
        lost = sorted(wanted - set(frames))
        if lost:
            raise ValueError(f'frames {lost[:5]} of {len(self.pts)} do not decode')
        return np.stack([frames[int(i)] for i in inds])


@TRANSFORMS.register_module()
class SampleVideoFrames(BaseTransform):
    """Sample and decode ``num_clips`` clips of ``clip_len`` frames at ``frame_rate`` fps.

    The default is the paper's 4-second clip of 8 frames at 2 fps (Appendix B). Times are
    seconds since the first frame of the video stream, whatever its first timestamp and however
    long the audio is; the video lasts until the end of its last frame. Where the clips start
    (:meth:`clip_starts`, ``W = clip_len / frame_rate`` seconds each, ``D`` the duration):

    - **training**: uniform in ``[0, D)``, and times past the end wrap cyclically to the
      beginning (the paper's cyclic loop, Appendix B, applied to every start), so every instant
      of the video is inside the window with the same probability ``min(W / D, 1)``, the last
      seconds included;
    - **test**, one clip: the middle ``W`` seconds (start ``(D - W) / 2``);
    - **test**, ``K > 1`` clips: starts evenly spaced from 0 to ``D - W`` (the first clip holds
      the first second, the last clip the last second).

    Each time becomes the last frame shown at or before it, from the frames' presentation
    timestamps (variable frame rate included; a constant rate ``fps`` gives
    ``floor(t * fps)``). A video shorter than the clip wraps cyclically to its beginning.
    Readers: decord's ``VideoReader``, then PyAV when
    decord cannot open or decode the file (AV1, for one); each distinct frame is decoded once.
    Readers are opened here, in the worker.

    Errors: :class:`MediaReadError` naming the file, the video stream and its codec when no
    reader decodes it; :class:`MissingStreamError` for a file without a video stream unless the
    missing-modality policy is ``'zeros'`` (then black ``224×224`` frames, ``frame_inds`` -1,
    logged with a running count).

    Required Keys: ``filename``

    Optional Keys: ``missing_modality`` (set by :class:`~mavilkit.datasets.BaseAVDataset`)

    Added Keys: ``imgs`` (uint8 ``(num_clips * clip_len, H, W, 3)``, RGB), ``frame_inds``
    (``(num_clips, clip_len)``), ``frame_times`` (seconds of the frames shown, same shape),
    ``clip_starts`` (float64 ``(num_clips,)``, seconds, before the wrap), ``clip_seconds``
    (``clip_len / frame_rate``), ``video_duration`` (seconds), ``clip_len``, ``num_clips``,
    ``video_fps`` (average), ``img_shape``, ``ori_shape``

    Args:
        clip_len (int): frames per clip. Defaults to 8.
        frame_rate (float): sampling rate in frames per second. Defaults to 2.
        num_clips (int): clips per video (10 for multi-clip testing, Table 11). Defaults to 1.
        test_mode (bool): deterministic, uniformly spaced clips. Defaults to False.
        backend (str): ``'auto'`` (decord, then PyAV), ``'decord'`` or ``'pyav'``.
        missing_modality (str, optional): ``'error'`` or ``'zeros'``; None: the sample's
            ``missing_modality`` key, else ``'error'``.
    """

    BACKENDS = ('auto', 'decord', 'pyav')

    def __init__(self, clip_len: int = 8, frame_rate: float = 2., num_clips: int = 1,
                 test_mode: bool = False, backend: str = 'auto',
                 missing_modality: Optional[str] = None):
        if backend not in self.BACKENDS:
            raise ValueError(f'backend must be one of {self.BACKENDS}, got {backend!r}')
        _check_policy(missing_modality)
        self.clip_len = clip_len
        self.frame_rate = frame_rate
        self.num_clips = num_clips
        self.test_mode = test_mode
        self.backend = backend
        self.missing_modality = missing_modality

    def clip_starts(self, duration: float) -> np.ndarray:
        """Start times (seconds, float64 ``(num_clips,)``) of the clips of a video lasting
        ``duration`` seconds, by the rule in the class docstring."""
        if not self.test_mode:
            return np.random.uniform(0., duration, size=self.num_clips)
        room = max(duration - self.clip_len / self.frame_rate, 0.)
        if self.num_clips == 1:
            return np.full(1, room / 2)
        return np.linspace(0., room, self.num_clips)

    def _sample(self, path: str) -> dict:
        errors: List[str] = []
        readers = ('decord', 'pyav') if self.backend == 'auto' else (self.backend, )
        for name in readers:
            try:
                video = _DecordVideo(path) if name == 'decord' else _PyAVVideo(path)
                check_not_cut(path)
                starts = self.clip_starts(video.duration)
                inds = clip_frame_indices(video.frame_times, video.duration, self.clip_len,
                                          self.frame_rate, starts)
                unique, inverse = np.unique(inds, return_inverse=True)
                frames = video.get_frames(unique)
            except MissingStreamError:
                raise
            except Exception as error:  # decord / PyAV raise their own types
                errors.append(f'{name}: {_first_line(error)}')
                continue
            return dict(imgs=frames[inverse.reshape(-1)], frame_inds=inds,
                        frame_times=video.frame_times[inds], clip_starts=starts,
                        video_duration=float(video.duration),
                        video_fps=len(video.frame_times) / video.duration)
        raise MediaReadError(path, f'cannot decode frames of the {describe_stream(path, "video")}: '
                             + '; '.join(errors))

    def transform(self, results: dict) -> dict:
        path = results['filename']
        policy = self.missing_modality or results.get('missing_modality') or 'error'
        try:
            out = self._sample(path)
        except MissingStreamError as error:
            _fill_missing(error, policy, 'black frames')
            shape = (self.num_clips, self.clip_len)
            out = dict(imgs=np.zeros((self.num_clips * self.clip_len, BLACK_FRAME_SIZE,
                                      BLACK_FRAME_SIZE, 3), np.uint8),
                       frame_inds=np.full(shape, -1, np.int64),
                       frame_times=np.zeros(shape), clip_starts=np.zeros(self.num_clips),
                       video_duration=0., video_fps=0.)
            results['filled_modalities'] = results.get('filled_modalities', []) + ['video']
        imgs = out['imgs']
        results.update(out, clip_len=self.clip_len, num_clips=self.num_clips,
                       clip_seconds=self.clip_len / self.frame_rate,
                       img_shape=imgs.shape[1:3], ori_shape=imgs.shape[1:3])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_rate={self.frame_rate}, num_clips={self.num_clips}, '
                f'test_mode={self.test_mode}, backend={self.backend!r}, '
                f'missing_modality={self.missing_modality!r})')
