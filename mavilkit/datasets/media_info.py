"""Per-file facts that the reading rules depend on (``tools/data/*/check_clips.py``).

See ``docs/en/user_guides/data_pipeline.md`` ("Reading media") for the rules: timestamps
(constant or variable frame rate, first timestamp), readers (codec), downmix (channel layout),
missing modality (no audio / no video stream), and the encodings of annotation files.
"""
import csv
from collections import Counter
from typing import Any, Dict, Iterable, List, Optional

import numpy as np

#: Columns of the per-file facts CSV written by the check tools.
FACT_FIELDS = ('path', 'error', 'video_codec', 'width', 'height', 'frame_rate', 'num_frames',
               'video_start', 'video_duration', 'audio_codec', 'channel_layout', 'sample_rate',
               'audio_start', 'audio_duration')


def probe_media(path: str) -> Dict[str, object]:
    """Facts about the first video and audio streams of ``path`` (PyAV; no decoding).

    Returns a dict with the keys of :data:`FACT_FIELDS`: codec names, frame size, ``frame_rate``
    (``'constant'``, ``'variable'`` or ``''`` without video, judged from the packets'
    presentation timestamps: constant when every interval is within one time-base tick and
    0.1 % of the median), ``num_frames``, first timestamps and durations of each stream in
    seconds (``''`` when the stream is absent), ``channel_layout`` and ``sample_rate``. A file
    PyAV cannot open gets only ``path`` and ``error``; nothing is raised.
    """
    import av
    facts: Dict[str, Any] = {k: '' for k in FACT_FIELDS}
    facts['path'] = path
    try:
        with av.open(path) as container:
            if container.streams.video:
                stream = container.streams.video[0]
                ctx = stream.codec_context
                if stream.time_base is None:
                    raise ValueError('video stream without a time base')
                tb = float(stream.time_base)
                pts = np.sort(np.array([p.pts for p in container.demux(stream)
                                        if p.pts is not None and not p.is_discard], np.int64))
                steps = np.diff(pts)
                constant = (len(steps) == 0 or (np.abs(steps - np.median(steps)) <= np.maximum(
                    1, 1e-3 * np.median(steps))).all())
                last = steps[-1] if len(steps) else 0
                facts.update(video_codec=ctx.codec.canonical_name, width=ctx.width,
                             height=ctx.height, num_frames=len(pts),
                             frame_rate='constant' if constant else 'variable')
                if len(pts):
                    facts.update(video_start=round(pts[0] * tb, 6),
                                 video_duration=round((pts[-1] + last - pts[0]) * tb, 6))
                container.seek(0)
            if container.streams.audio:
                audio = container.streams.audio[0]
                actx = audio.codec_context
                facts.update(audio_codec=actx.codec.canonical_name,
                             channel_layout=actx.layout.name, sample_rate=actx.sample_rate)
                atb = audio.time_base
                if audio.start_time is not None and atb is not None:
                    facts['audio_start'] = round(float(audio.start_time * atb), 6)
                if audio.duration is not None and atb is not None:
                    facts['audio_duration'] = round(float(audio.duration * atb), 6)
                elif container.duration:
                    facts['audio_duration'] = round(container.duration / av.time_base, 6)
    except Exception as error:
        facts['error'] = (str(error) or type(error).__name__).splitlines()[0]
    return facts


def text_encoding(path: str) -> Dict[str, object]:
    """Encoding facts of an annotation file: ``bom`` (``'utf-8'``, ``'utf-16-le'``,
    ``'utf-16-be'`` or ``''``), ``utf8`` (decodes as UTF-8 after the BOM), ``crlf`` (number of
    CRLF line ends), ``trailing_space`` (lines ending in blanks)."""
    with open(path, 'rb') as f:
        data = f.read()
    bom = ''
    for mark, name in ((b'\xef\xbb\xbf', 'utf-8'), (b'\xff\xfe', 'utf-16-le'),
                       (b'\xfe\xff', 'utf-16-be')):
        if data.startswith(mark):
            bom, data = name, data[len(mark):]
            break
    try:
        data.decode('utf-8')
        utf8 = bom in ('', 'utf-8')
    except UnicodeDecodeError:
        utf8 = False
    lines = data.split(b'\n')
    return dict(bom=bom, utf8=utf8, crlf=data.count(b'\r\n'),
                trailing_space=sum(1 for ln in lines if ln.rstrip(b'\r') != ln.rstrip()))


def summarise(facts: Iterable[Dict[str, Any]], duration_gap: float = 0.5) -> List[str]:
    """Lines counting the files under each reading rule (see the data-pipeline guide)."""
    facts = list(facts)
    count: Counter = Counter()
    codecs: Counter = Counter()
    layouts: Counter = Counter()
    for f in facts:
        if f['error']:
            count['header unreadable (PyAV cannot open)'] += 1
            continue
        if f['video_codec']:
            codecs[f'video {f["video_codec"]}'] += 1
            if f['frame_rate'] == 'variable':
                count['variable frame rate (frames by timestamp)'] += 1
            if f['video_start'] not in ('', 0, 0.0):
                count['video first timestamp not 0'] += 1
        else:
            count['no video stream (missing_modality)'] += 1
        if f['audio_codec']:
            codecs[f'audio {f["audio_codec"]}'] += 1
            layouts[f['channel_layout']] += 1
        else:
            count['no audio stream (missing_modality)'] += 1
        if f['video_duration'] != '' and f['audio_duration'] != '' and abs(
                float(f['video_duration']) - float(f['audio_duration'])) > duration_gap:
            count[f'video and audio durations differ by more than {duration_gap} s'] += 1
    lines = [f'{len(facts)} files probed']
    lines += [f'  {name}: {n}' for name, n in sorted(count.items())]
    lines.append('  codecs: ' + ', '.join(f'{k} {n}' for k, n in sorted(codecs.items())))
    lines.append('  audio channel layouts (downmix): '
                 + ', '.join(f'{k} {n}' for k, n in sorted(layouts.items())))
    return lines


def write_facts(path: str, facts: Iterable[Dict[str, object]]) -> None:
    """Write per-file facts as CSV with the columns :data:`FACT_FIELDS`."""
    with open(path, 'w', newline='', encoding='utf-8') as f:
        writer = csv.DictWriter(f, fieldnames=FACT_FIELDS)
        writer.writeheader()
        writer.writerows(facts)


def probe_all(paths: List[str], progress: bool = True) -> List[Dict[str, object]]:
    """:func:`probe_media` of each path, with mmengine's progress bar."""
    from mmengine.utils import ProgressBar
    bar: Optional[ProgressBar] = ProgressBar(len(paths)) if progress and paths else None
    facts = []
    for path in paths:
        facts.append(probe_media(path))
        if bar is not None:
            bar.update()
    if bar is not None:
        print()
    return facts
