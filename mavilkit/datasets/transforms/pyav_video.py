"""Decoding a few frames of a long-GOP H.264 clip with as little work as FFmpeg allows.

Real downloads (AudioSet / VGGSound from YouTube) are 360p-720p H.264 with a keyframe every
2-5 s; 8 frames at 2 fps need every frame from the keyframe before the window to its last
frame, so 90-97 % of the decoded frames are thrown away. Three levers cut that work
(measured in ``docs/en/advanced_guides/performance.md``, ``tools/analysis/benchmark_dataloader.py
--stages``):

- **keyframe-aware seeking**: the packet index (demuxed, not decoded) gives the keyframes;
  decoding jumps to the last keyframe before the next wanted frame whenever that skips frames;
- **non-reference frames skipped**: packets that are neither wanted nor referenced by others
  (B-frames of x264's default GOP) are not decoded (FFmpeg's ``skip_frame=NONREF``);
- **crop and scale before colour conversion**: the wanted frames are cropped in YUV 4:2:0 and
  resized to the output size before the conversion to RGB, instead of converting full frames.

Frames are chosen by ``SampleVideoFrames``' rule (``clip_frame_indices``: the frame shown at
each time, from the presentation timestamps); only the decoding differs.
"""
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np

from mavilkit.registry import TRANSFORMS
from mavilkit.utils.threads import media_threads
from ..errors import MediaReadError, MissingStreamError
from .loading import (SampleVideoFrames, _first_line, _regular_times, check_not_cut,
                      clip_frame_indices, describe_stream)
from .video import VideoRandomResizedCrop, _pair

#: (y, x, h, w) crop box in pixels of the decoded frame.
CropBox = Tuple[int, int, int, int]


def packet_index(container, stream) -> Tuple[np.ndarray, np.ndarray, int]:
    """Index of a video stream from its packets (demuxed, not decoded; rewinds after).

    Returns:
        (sorted presentation timestamps of all packets, sorted timestamps of the keyframes,
        seek delay): timestamps in the stream's time base. The delay is the largest
        ``pts - dts`` of a keyframe (B-frame reordering): FFmpeg's mp4 seek compares the target
        with decoding times, so a seek to a keyframe's ``pts`` lands one keyframe early unless
        the delay is added.
    """
    pts, keys, delay = [], [], 0
    for packet in container.demux(stream):
        if packet.pts is None or packet.is_discard:
            continue
        pts.append(packet.pts)
        if packet.is_keyframe:
            keys.append(packet.pts)
            if packet.dts is not None:
                delay = max(delay, packet.pts - packet.dts)
    container.seek(0)
    return np.sort(np.asarray(pts, np.int64)), np.sort(np.asarray(keys, np.int64)), int(delay)


def yuv420_crop_resize(frame, box: CropBox, size_hw: Tuple[int, int]) -> np.ndarray:
    """RGB uint8 ``(h, w, 3)`` of the ``box`` of a yuv420p frame, resized to ``size_hw``.

    The planes are cropped and resized (bilinear) before OpenCV's BT.601 limited-range
    conversion, which is FFmpeg's default for unflagged SD/HD H.264. The box is aligned to even
    pixels so that the chroma planes crop exactly.
    """
    y, x, h, w = (int(v) // 2 * 2 for v in box)
    h, w = max(h, 2), max(w, 2)
    luma: np.ndarray
    u: np.ndarray
    v: np.ndarray
    luma, u, v = (np.frombuffer(p, np.uint8).reshape(-1, p.line_size) for p in frame.planes[:3])
    oh, ow = size_hw
    luma = cv2.resize(luma[y:y + h, x:x + w], (ow, oh), interpolation=cv2.INTER_LINEAR)
    u = cv2.resize(u[y // 2:(y + h) // 2, x // 2:(x + w) // 2], (ow // 2, oh // 2),
                   interpolation=cv2.INTER_LINEAR)
    v = cv2.resize(v[y // 2:(y + h) // 2, x // 2:(x + w) // 2], (ow // 2, oh // 2),
                   interpolation=cv2.INTER_LINEAR)
    i420 = np.concatenate([luma.reshape(-1), u.reshape(-1), v.reshape(-1)])
    return cv2.cvtColor(i420.reshape(oh * 3 // 2, ow), cv2.COLOR_YUV2RGB_I420)


def decode_frames(container, stream, wanted: Sequence[int], keys: np.ndarray,
                  convert: Callable, skip_nonref: bool = True, reseek: bool = True,
                  seek_delay: int = 0) -> Tuple[List[np.ndarray], int]:
    """Decode the frames whose timestamps are in ``wanted`` (each once, in order).

    Args:
        container, stream: an open PyAV input and its video stream.
        wanted: timestamps (stream time base) of the frames to return.
        keys: sorted keyframe timestamps, and ``seek_delay`` the seek delay, from
            :func:`packet_index`.
        convert: ``av.VideoFrame → np.ndarray`` applied to wanted frames only.
        skip_nonref: skip decoding packets that are neither wanted nor referenced.
        reseek: jump to a later keyframe when it precedes the next wanted frame.

    Returns:
        (frames in the order of ``sorted(set(wanted))``, number of frames decoded).

    Raises:
        RuntimeError: when a wanted frame never comes out of the decoder.
    """
    targets = sorted(set(int(p) for p in wanted))
    wanted_set = set(targets)
    found: Dict[int, np.ndarray] = {}
    decoded = 0
    ctx = stream.codec_context

    def key_before(p):
        if not len(keys):
            return 0
        return int(keys[max(np.searchsorted(keys, p, side='right') - 1, 0)])

    def packets_from(key):
        """Packets from the keyframe ``key`` on (or from an earlier one: always correct)."""
        tries = [key + seek_delay, key] if seek_delay else [key]
        for target in tries:
            container.seek(target, stream=stream, backward=True, any_frame=False)
            packets = container.demux(stream)
            first = next(packets, None)
            if first is None:
                return
            if first.pts is not None and first.pts > key and target != key:
                continue  # landed past the keyframe: seek again without the delay
            yield first
            yield from packets
            return

    position = None  # keyframe timestamp of the last seek
    while len(found) < len(targets):
        start = key_before(min(p for p in targets if p not in found))
        if position is not None and start <= position:
            missing = [p for p in targets if p not in found]
            raise RuntimeError(f'frames with timestamps {missing[:4]} never decoded')
        position = start
        sent = None  # largest timestamp sent to the decoder since the seek
        for packet in packets_from(start):
            if packet.pts is not None:
                if skip_nonref:
                    ctx.skip_frame = 'DEFAULT' if packet.pts in wanted_set else 'NONREF'
                sent = packet.pts if sent is None else max(sent, packet.pts)
            for frame in packet.decode():
                decoded += 1
                if frame.pts in wanted_set and frame.pts not in found:
                    found[frame.pts] = convert(frame)
            if len(found) == len(targets):
                break
            # Past the keyframe sought (a seek may land earlier), the keyframe before the next
            # wanted frame is not sent yet: all frames up to it would be decoded for nothing.
            if reseek and sent is not None and sent >= position and \
                    key_before(min(p for p in targets if p not in found)) > sent:
                break
        else:  # end of the stream
            if len(found) < len(targets):
                missing = [p for p in targets if p not in found]
                raise RuntimeError(f'frames with timestamps {missing[:4]} never decoded')
    ctx.skip_frame = 'DEFAULT'
    return [found[p] for p in targets], decoded


def _center_box(h: int, w: int, size_hw: Tuple[int, int]) -> CropBox:
    """The box ``VideoResizeCenterCrop(size)`` keeps, in pixels of the ``h × w`` frame."""
    scale = max(size_hw) / min(h, w)
    ch, cw = min(h, int(round(size_hw[0] / scale))), min(w, int(round(size_hw[1] / scale)))
    return (h - ch) // 2, (w - cw) // 2, ch, cw


@TRANSFORMS.register_module()
class SampleVideoFramesPyAV(SampleVideoFrames):
    """``SampleVideoFrames`` decoded by PyAV with the levers of this module, optionally fused
    with the crop (issue 13 §1; ``docs/en/advanced_guides/performance.md``).

    Clip starts and frames are those of ``SampleVideoFrames`` (same draws, same timestamp rule,
    same wrap-around, same missing-modality policy); only the decoding differs. With
    ``crop_size``, the crop box is drawn as ``VideoRandomResizedCrop(crop_size, crop_scale,
    crop_ratio)`` draws it, right after the start (the same seed gives the same box as the two
    separate transforms), or in test mode kept as ``VideoResizeCenterCrop(crop_size)`` keeps
    it; only that box is converted to RGB, at the output size. Pixels then differ from the
    separate transforms by the order of resizing and colour conversion (mean absolute
    difference about 2 of 255). FFmpeg decodes with ``mavilkit.utils.threads.media_threads()``
    threads (1 in dataloader workers).

    Required Keys: ``filename``

    Added Keys: those of ``SampleVideoFrames``, plus ``crop_bbox`` (x1, y1, x2, y2; with
    ``crop_size``) and ``frames_decoded`` (frames the decoder produced)

    Args:
        clip_len, frame_rate, num_clips, test_mode, missing_modality: as ``SampleVideoFrames``.
        crop_size (int | tuple, optional): output (h, w), even; None keeps full frames.
        crop_scale, crop_ratio (tuple): as ``VideoRandomResizedCrop``.
        skip_nonref (bool): do not decode unwanted non-reference frames. Defaults to True.
        reseek (bool): seek to a later keyframe when it saves decoding. Defaults to True.
    """

    def __init__(self, clip_len: int = 8, frame_rate: float = 2., num_clips: int = 1,
                 test_mode: bool = False, crop_size=None, crop_scale=(0.2, 1.0),
                 crop_ratio=(3. / 4., 4. / 3.), skip_nonref: bool = True, reseek: bool = True,
                 missing_modality=None):
        super().__init__(clip_len, frame_rate, num_clips, test_mode, backend='pyav',
                         missing_modality=missing_modality)
        self.crop_size = _pair(crop_size) if crop_size is not None else None
        if self.crop_size is not None and any(v % 2 for v in self.crop_size):
            raise ValueError(f'crop_size must be even (YUV 4:2:0 chroma), got {crop_size}')
        self.cropper = VideoRandomResizedCrop(crop_size, crop_scale, crop_ratio) \
            if crop_size is not None else None
        self.skip_nonref = skip_nonref
        self.reseek = reseek

    def _sample(self, path: str) -> dict:
        import av
        try:
            container = av.open(path)
        except Exception as error:
            raise MediaReadError(path, f'cannot open video: {_first_line(error)}')
        try:
            if not container.streams.video:
                raise MissingStreamError(path, 'video')
            stream = container.streams.video[0]
            if container.duration and not any(s.duration for s in container.streams
                                              if s.type in ('audio', 'video')):
                check_not_cut(path)  # Matroska / WebM: only the file declares a duration
            threads = media_threads()
            stream.thread_type = 'FRAME' if threads > 1 else 'SLICE'
            stream.codec_context.thread_count = threads
            pts, keys, delay = packet_index(container, stream)
            if not len(pts):
                raise ValueError('no video packet with a timestamp')
            rate = stream.average_rate or stream.guessed_rate
            time_base = float(stream.time_base)  # type: ignore[arg-type]  # set on a stream
            frame_times, duration = _regular_times((pts - pts[0]) * time_base,
                                                   float(rate) if rate else 25.)
            inds = clip_frame_indices(frame_times, duration, self.clip_len, self.frame_rate,
                                      self.clip_starts(duration))
            h, w = stream.codec_context.height, stream.codec_context.width
            box = None
            if self.crop_size is not None:
                box = _center_box(h, w, self.crop_size) if self.test_mode \
                    else self.cropper.crop_box(h, w)  # type: ignore[union-attr]  # crop_size
                convert = lambda f: yuv420_crop_resize(  # noqa: E731
                    f if f.format.name == 'yuv420p' else f.reformat(format='yuv420p'),
                    box, self.crop_size)
            else:
                convert = lambda f: f.to_ndarray(format='rgb24')  # noqa: E731
            unique, inverse = np.unique(inds, return_inverse=True)
            frames, decoded = decode_frames(container, stream, pts[unique], keys, convert,
                                            self.skip_nonref, self.reseek, delay)
        except MissingStreamError:
            raise
        except Exception as error:
            raise MediaReadError(path, f'cannot decode frames of the '
                                 f'{describe_stream(path, "video")}: pyav: {_first_line(error)}')
        finally:
            container.close()
        out = dict(imgs=np.stack(frames)[inverse.reshape(-1)], frame_inds=inds,
                   frame_times=frame_times[inds], video_fps=len(frame_times) / duration,
                   frames_decoded=decoded)
        if box is not None:
            y, x, ch, cw = box
            out['crop_bbox'] = (x, y, x + cw, y + ch)
        return out

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, '
                f'frame_rate={self.frame_rate}, num_clips={self.num_clips}, '
                f'test_mode={self.test_mode}, crop_size={self.crop_size}, '
                f'skip_nonref={self.skip_nonref}, reseek={self.reseek}, '
                f'missing_modality={self.missing_modality!r})')
