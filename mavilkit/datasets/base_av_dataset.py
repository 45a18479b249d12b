"""Shared base of the audio-video datasets: missing files and unreadable clips."""
import logging
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from mavilkit.engine.worker_init import sync_worker_rng_to_epoch
from .errors import MediaReadError
from .transforms.loading import MISSING_MODALITY_CHOICES, LoadAudio, SampleVideoFrames, has_stream

#: Keys of a data info that hold paths of media files.
MEDIA_KEYS = ('filename', 'audio_path')
#: The failure fraction is judged over at least min(len(dataset), this) clips.
MIN_READS_FOR_FRACTION = 1000


def find_missing(paths: Sequence[str]) -> List[str]:
    """Return the paths in ``paths`` that do not exist.

    Each folder is listed once instead of calling ``stat`` per file, which matters for AudioSet's
    two million clips on network file systems.
    """
    by_dir: Dict[str, List[str]] = defaultdict(list)
    for path in paths:
        by_dir[osp.dirname(path)].append(path)
    missing = []
    for folder, files in by_dir.items():
        try:
            present = set(os.listdir(folder or '.'))
        except OSError:
            present = set()
        missing += [p for p in files if osp.basename(p) not in present]
    return missing


class BaseAVDataset(BaseDataset):
    """Base class of the audio-video datasets.

    Subclasses implement :meth:`load_data_list`, returning one dict per clip with ``filename``
    (video path) and/or ``audio_path``, ``clip_id``, ``gt_label`` (list of class indices) and
    ``num_classes``. This class adds two behaviours:

    - **Missing media** are found once at start-up (one directory listing per folder), reported
      with their count and the first few names, and skipped; ``skip_missing=False`` raises a
      ``FileNotFoundError`` instead.
    - **Unreadable media**: a transform that cannot decode a file raises
      :class:`~mavilkit.datasets.errors.MediaReadError`; the clip is then replaced by another
      one (a random index for training, the next index in test mode), logged once per file with
      its path, and marked unreadable in a record shared by all DataLoader workers: it is never
      decoded again (later draws of it are replaced at once) and counted once. The packed
      sample carries the paths it replaced in its metainfo key ``bad_media``;
      :class:`~mavilkit.engine.hooks.BadMediaHook` merges the records of all processes at
      epoch end and reports the distinct count.
    - **Dropped clips**: the clips left out at start-up (missing files, ``'skip'``) are kept
      in :attr:`dropped_clips` as ``{clip_id, clip_index, clip_uid, path, reason}`` records
      (of the annotation file, before ``indices`` is applied), so that exports can list them.
    - **Identity**: every clip gets ``clip_index`` (its position in the annotation file, before
      missing clips are dropped and ``indices`` applied) and ``clip_uid`` (its media files,
      see :meth:`clip_uid`), the global identity metrics and exports count once.

    The bad-file limit is about the dataset: when more than ``max_failure_fraction`` of the
    distinct clips tried (over all workers, and over all processes at each epoch end) are
    unreadable, judged over at least ``min(len(dataset), 1000)`` clips so that a few early
    failures do not stop a run whose overall rate is fine, a ``RuntimeError`` naming the
    files stops the run. So does ``max_refetch + 1`` unreadable clips in a row. A clip with an
    audio and a video file is one clip, unreadable when either file is.

    - **Missing modality**: ``missing_modality`` decides what happens to a clip whose file
      lacks the audio (or video) stream that the pipeline reads: ``'error'`` (the clip is an
      unreadable file, as above), ``'zeros'`` (a silent waveform / black frames, so that every
      clip is evaluated; each use is logged with a running count) or ``'skip'`` (the clips are
      found at start-up by reading each file's header with PyAV, logged with their count and
      left out).

    Args:
        missing_modality (str): ``'error'``, ``'zeros'`` or ``'skip'``. Defaults to
            ``'error'``.
        max_failure_fraction (float): largest tolerated fraction of unreadable clips among the
            distinct clips tried. Defaults to 0.05.
        skip_missing (bool): skip (True) or refuse (False) clips whose files are missing.
        max_refetch (int): replacement attempts for one index. Defaults to 20.
        **kwargs: passed to mmengine's ``BaseDataset`` (``ann_file``, ``data_root``,
            ``data_prefix``, ``pipeline``, ``test_mode``, ``indices``, ...).
    """

    #: False: ``__getitem__`` returns ``{'unreadable': {clip_id, clip_index, clip_uid, path,
    #: reason}}`` for an unreadable clip instead of another clip, and the failure limit does
    #: not apply (exports, which list what they could not read: extract_features.py).
    substitute_unreadable = True

    def __init__(self,
                 *args,
                 skip_missing: bool = True,
                 max_failure_fraction: float = 0.05,
                 max_refetch: int = 20,
                 missing_modality: str = 'error',
                 **kwargs):
        if missing_modality not in MISSING_MODALITY_CHOICES:
            raise ValueError(f'missing_modality must be one of {MISSING_MODALITY_CHOICES}, '
                             f'got {missing_modality!r}')
        self.missing_modality = missing_modality
        if not 0. <= max_failure_fraction <= 1.:
            raise ValueError(f'max_failure_fraction must be in [0, 1], got {max_failure_fraction}')
        self.skip_missing = skip_missing
        self.max_failure_fraction = max_failure_fraction
        self.bad_media: Dict[str, str] = {}  # path -> reason, failures seen by this process
        self._bad_paths: Dict[int, str] = {}  # clip index -> the file that failed
        super().__init__(*args, max_refetch=max_refetch, **kwargs)

    # ------------------------------------------------------------------ start-up checks
    def _join(self, prefix_key: str, path: str) -> str:
        prefix = self.data_prefix.get(prefix_key, '') or ''
        return path if osp.isabs(path) else osp.join(prefix, path)

    def filter_data(self) -> List[dict]:
        """Give every clip its identity, drop (or refuse) clips whose media files are missing,
        apply ``missing_modality``.

        The identity is set first, on the list as read from the annotation file and before
        mmengine applies ``indices``, so that it does not depend on which clips are kept.
        """
        for position, info in enumerate(self.data_list):
            info.setdefault('clip_index', position)
            info.setdefault('clip_uid', self.clip_uid(info))
        self.dropped_clips: List[dict] = []
        data_list = self._filter_missing_files()
        for info in data_list:
            info['missing_modality'] = self.missing_modality
        if self.missing_modality == 'skip':
            data_list = self._skip_missing_modality(data_list)
        return data_list

    def _pipeline_modalities(self) -> List[str]:
        transforms = getattr(self.pipeline, 'transforms', [])
        return ([m for m, t in (('audio', LoadAudio), ('video', SampleVideoFrames))
                 if any(isinstance(x, t) for x in transforms)])

    def _skip_missing_modality(self, data_list: List[dict]) -> List[dict]:
        """Leave out clips whose files lack a stream the pipeline reads (header read by PyAV;
        a file PyAV cannot open is kept for the unreadable-file handling)."""
        kept: List[dict] = []
        lacking: Dict[str, int] = defaultdict(int)
        modalities = self._pipeline_modalities()
        for info in data_list:
            gone = [m for m in modalities
                    if has_stream(info.get('audio_path') or info['filename']
                                  if m == 'audio' else info['filename'], m) is False]
            for m in gone:
                lacking[m] += 1
            if not gone:
                kept.append(info)
            else:
                self._drop(info, info['filename'] if 'video' in gone
                           else info.get('audio_path') or info['filename'],
                           'no ' + ' and no '.join(f'{m} stream' for m in gone)
                           + " (missing_modality='skip')")
        if lacking:
            print_log(f"missing_modality='skip': {len(data_list) - len(kept)} of "
                      f'{len(data_list)} clips listed in {self.ann_file} are left out ('
                      + ', '.join(f'{n} without {m}' for m, n in sorted(lacking.items()))
                      + ')', logger='current', level=logging.WARNING)
        if not kept:
            raise ValueError(f'{self.ann_file}: no clip has every stream of {modalities}')
        return kept

    def _filter_missing_files(self) -> List[dict]:
        data_list = self.data_list
        paths = [info[k] for info in data_list for k in MEDIA_KEYS if info.get(k)]
        missing = set(find_missing(paths))
        if not missing:
            return data_list
        kept = []
        for info in data_list:
            gone = [info[k] for k in MEDIA_KEYS if info.get(k) in missing]
            if gone:
                self._drop(info, gone[0], 'file not found')
            else:
                kept.append(info)
        # repr() shows invisible characters (a byte-order mark, a trailing blank or CR)
        first = ', '.join(repr(p) for p in sorted(missing)[:5])
        msg = (f'{len(data_list) - len(kept)} of {len(data_list)} clips listed in '
               f'{self.ann_file} have missing media files ({len(missing)} files; first: {first})')
        if not self.skip_missing:
            raise FileNotFoundError(msg + '. Set skip_missing=True to skip them.')
        if not kept:
            raise FileNotFoundError(msg + '; no clip is left. Check data_root and data_prefix.')
        print_log(msg + '; they are skipped.', logger='current', level=logging.WARNING)
        return kept

    def _drop(self, info: dict, path: str, reason: str) -> None:
        """Record a clip left out at start-up (:attr:`dropped_clips`)."""
        self.dropped_clips.append(dict(
            clip_id=str(info.get('clip_id', '')), clip_index=int(info['clip_index']),
            clip_uid=str(info['clip_uid']), path=str(path), reason=reason))

    def clip_uid(self, info: dict) -> str:
        """The global identity of the clip of a data info: its media files (and segment).

        Two samples are the same clip exactly when they read the same media (``filename`` and
        ``audio_path``, and ``audio_segment`` when a clip is a part of a file). The identity
        therefore does not change with the dataset wrappers (``ConcatDataset``,
        ``RepeatDataset``, ``indices=``), the process or the sampler's padding, and two
        datasets never give one clip two identities. Metrics and exports count each
        ``clip_uid`` once. A data info without media paths falls back to
        ``'<ann_file>#<clip_index>'``.
        """
        paths = [str(info[k]) for k in MEDIA_KEYS if info.get(k)]
        if not paths:
            return f'{self.ann_file}#{info["clip_index"]}'
        uid = '|'.join(paths)
        segment = info.get('audio_segment')
        if segment is not None:
            uid += '@{:g}-{:g}'.format(*segment)
        return uid

    # ------------------------------------------------------------------ bad media
    def full_init(self) -> None:
        """Read the annotations (mmengine) and create the shared records of files tried.

        ``tried`` and ``unreadable`` hold one byte per clip in shared memory, created here in
        the main process, so that every DataLoader worker (forked or spawned, persistent or
        not) reads and writes the same records: a clip found unreadable by one worker is
        skipped by all of them, in this epoch and the next ones.
        """
        if self._fully_initialized:
            return
        super().full_init()
        self.tried = torch.zeros(len(self), dtype=torch.uint8).share_memory_()
        self.unreadable = torch.zeros(len(self), dtype=torch.uint8).share_memory_()

    def _clip_paths(self, idx: int) -> str:
        info = self.get_data_info(idx)
        return ' + '.join(str(info[k]) for k in MEDIA_KEYS if info.get(k)) or f'clip {idx}'

    def unreadable_files(self) -> List[str]:
        """``'path (reason)'`` of the clips known to be unreadable (reason when this process
        saw the failure)."""
        names = []
        for idx in torch.nonzero(self.unreadable).flatten().tolist():
            path = self._bad_paths.get(idx) or self._clip_paths(idx)
            reason = self.bad_media.get(path)
            names.append(f'{path!r} ({reason})' if reason else repr(path))
        return names

    def check_failure_fraction(self, where: str = '') -> Tuple[int, int]:
        """Raise when too many distinct clips are unreadable; return ``(unreadable, tried)``.

        Raises:
            RuntimeError: more than ``max_failure_fraction`` of the distinct clips tried are
                unreadable (judged over at least ``min(len(dataset), 1000)`` clips); the
                message names the files.
        """
        num_bad, num_tried = int(self.unreadable.sum()), int(self.tried.sum())
        min_tried = min(len(self), MIN_READS_FOR_FRACTION)
        if num_bad > self.max_failure_fraction * max(num_tried, min_tried):
            names = self.unreadable_files()
            raise RuntimeError(
                f'{num_bad} of the {num_tried} distinct clips of {self.ann_file!r} tried '
                f'{where}are unreadable, more than max_failure_fraction='
                f'{self.max_failure_fraction} (judged over at least {min_tried} clips). '
                f'Unreadable files: ' + '; '.join(names[:20])
                + (f'; ... ({len(names) - 20} more)' if len(names) > 20 else ''))
        return num_bad, num_tried

    def _record_failure(self, idx: int, error: MediaReadError) -> None:
        self.unreadable[idx] = 1
        self._bad_paths[idx] = error.path
        if error.path not in self.bad_media:
            self.bad_media[error.path] = error.reason
            print_log(f'Unreadable media file {error.path!r} ({error.reason}); the clip is '
                      f'replaced by another one and not read again ('
                      f'{int(self.unreadable.sum())} unreadable files so far).',
                      logger='current', level=logging.WARNING)
        self.check_failure_fraction()

    def _another_index(self, idx: int) -> int:
        if self.test_mode or len(self) == 1:
            return (idx + 1) % len(self)
        return (idx + int(np.random.randint(1, len(self)))) % len(self)  # never idx itself

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            print_log('Please call `full_init()` method manually to accelerate the speed.',
                      logger='current', level=logging.WARNING)
            self.full_init()
        sync_worker_rng_to_epoch()
        if not self.substitute_unreadable:
            return self._read_or_report(idx)
        replaced: List[str] = []
        attempts = 0
        # Known-unreadable clips are passed over without a decoding attempt; the bound on
        # the loop only guards against a dataset where every clip is unreadable.
        for _ in range(len(self) + self.max_refetch + 1):
            if self.unreadable[idx]:
                replaced.append(self._bad_paths.get(idx) or self._clip_paths(idx))
                idx = self._another_index(idx)
                continue
            if attempts > self.max_refetch:
                break
            attempts += 1
            self.tried[idx] = 1
            try:
                data = self.prepare_data(idx)
            except MediaReadError as error:
                self._record_failure(idx, error)
                replaced.append(error.path)
                idx = self._another_index(idx)
                continue
            if data is None:  # a transform rejected the sample on purpose
                if self.test_mode:
                    raise RuntimeError(f'The pipeline returned None for test sample {idx}.')
                idx = self._another_index(idx)
                continue
            if replaced and 'data_samples' in data:
                data['data_samples'].set_metainfo(dict(bad_media=replaced))
            return data
        raise RuntimeError(
            f'{attempts} clips in a row could not be read from {self.ann_file!r}; '
            f'last: {replaced[-1] if replaced else None!r}. Check the media files.')

    def _read_or_report(self, idx: int) -> dict:
        """``__getitem__`` without substitutes: the sample, or ``{'unreadable': {...}}``."""
        info = self.get_data_info(idx)
        failure = None
        if self.unreadable[idx]:
            path = self._bad_paths.get(idx) or self._clip_paths(idx)
            failure = (path, self.bad_media.get(path, 'unreadable (seen before)'))
        else:
            self.tried[idx] = 1
            try:
                data = self.prepare_data(idx)
            except MediaReadError as error:
                self.unreadable[idx] = 1
                self._bad_paths[idx] = error.path
                self.bad_media[error.path] = error.reason
                failure = (error.path, error.reason)
        if failure is not None:
            return dict(unreadable=dict(
                clip_id=str(info.get('clip_id', '')), clip_index=int(info['clip_index']),
                clip_uid=str(info['clip_uid']), path=failure[0], reason=failure[1]))
        if data is None:
            raise RuntimeError(f'The pipeline returned None for sample {idx} '
                               f'({info.get("clip_id")!r}).')
        return data

    def get_gt_labels(self) -> List[List[int]]:
        """Class indices of every clip (used by the weighted sampler)."""
        return [list(self.get_data_info(i)['gt_label']) for i in range(len(self))]

    @property
    def num_classes(self) -> Optional[int]:
        classes = self.metainfo.get('classes')
        return None if classes is None else len(classes)
