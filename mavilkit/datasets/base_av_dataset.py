"""Shared base of the audio-video datasets: missing files and unreadable clips."""
import logging
import os
import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from .errors import MediaReadError
from .transforms.loading import (MISSING_MODALITY_CHOICES, LoadAudio, SampleVideoFrames,
                                 has_stream)

#: Keys of a data info that hold paths of media files.
MEDIA_KEYS = ('filename', 'audio_path')
#: The failure fraction is judged over at least min(len(dataset), this) reads.
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
      its path, and counted. The packed sample carries the replaced paths in its metainfo key
      ``bad_media`` so that :class:`~mavilkit.engine.hooks.BadMediaHook` reports the count at
      epoch end, whichever worker process saw the failure. When more than
      ``max_failure_fraction`` of the reads fail, or ``max_refetch + 1`` clips in a row fail, a
      ``RuntimeError`` naming the first files stops the run.

    The failure fraction is a rate: failed reads / reads in the reading process (each
    DataLoader worker estimates the same rate from its share), judged over at least
    ``min(len(dataset), 1000)`` reads so that a few early failures do not stop a run whose
    overall rate is fine. A fraction of the dataset size would never trigger on AS-2M, where an
    epoch of 200,000 weighted draws split over many workers reads a small part of 2M clips.

    - **Missing modality**: ``missing_modality`` decides what happens to a clip whose file
      lacks the audio (or video) stream that the pipeline reads: ``'error'`` (the clip is an
      unreadable file, as above), ``'zeros'`` (a silent waveform / black frames, so that every
      clip is evaluated; each use is logged with a running count) or ``'skip'`` (the clips are
      found at start-up by reading each file's header with PyAV, logged with their count and
      left out).

    Args:
        missing_modality (str): ``'error'``, ``'zeros'`` or ``'skip'``. Defaults to
            ``'error'``.
        max_failure_fraction (float): largest tolerated fraction of failed reads. Defaults to
            0.05.
        skip_missing (bool): skip (True) or refuse (False) clips whose files are missing.
        max_refetch (int): replacement attempts for one index. Defaults to 20.
        **kwargs: passed to mmengine's ``BaseDataset`` (``ann_file``, ``data_root``,
            ``data_prefix``, ``pipeline``, ``test_mode``, ``indices``, ...).
    """

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
        self.bad_media: Dict[str, str] = {}
        self._num_reads = 0  # in this process (each DataLoader worker has its own copy)
        self._num_failed_reads = 0
        super().__init__(*args, max_refetch=max_refetch, **kwargs)

    # ------------------------------------------------------------------ start-up checks
    def _join(self, prefix_key: str, path: str) -> str:
        prefix = self.data_prefix.get(prefix_key, '') or ''
        return path if osp.isabs(path) else osp.join(prefix, path)

    def filter_data(self) -> List[dict]:
        """Drop (or refuse) clips whose media files are missing; apply ``missing_modality``."""
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
        kept, lacking = [], defaultdict(int)
        modalities = self._pipeline_modalities()
        for info in data_list:
            gone = [m for m in modalities
                    if has_stream(info.get('audio_path') or info['filename']
                                  if m == 'audio' else info['filename'], m) is False]
            for m in gone:
                lacking[m] += 1
            if not gone:
                kept.append(info)
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
        kept = [info for info in data_list
                if not any(info.get(k) in missing for k in MEDIA_KEYS)]
        first = ', '.join(sorted(missing)[:5])
        msg = (f'{len(data_list) - len(kept)} of {len(data_list)} clips listed in '
               f'{self.ann_file} have missing media files ({len(missing)} files; first: {first})')
        if not self.skip_missing:
            raise FileNotFoundError(msg + '. Set skip_missing=True to skip them.')
        if not kept:
            raise FileNotFoundError(msg + '; no clip is left. Check data_root and data_prefix.')
        print_log(msg + '; they are skipped.', logger='current', level=logging.WARNING)
        return kept

    # ------------------------------------------------------------------ bad media
    def _record_failure(self, error: MediaReadError) -> None:
        self._num_failed_reads += 1
        if error.path not in self.bad_media:
            self.bad_media[error.path] = error.reason
            print_log(f'Unreadable media file {error.path} ({error.reason}); the clip is '
                      f'replaced by another one ({len(self.bad_media)} unreadable files so '
                      'far).', logger='current', level=logging.WARNING)
        min_reads = min(len(self), MIN_READS_FOR_FRACTION)
        if self._num_failed_reads > self.max_failure_fraction * max(self._num_reads, min_reads):
            raise RuntimeError(
                f'{self._num_failed_reads} of {self._num_reads} reads of clips listed in '
                f'{self.ann_file} failed, more than max_failure_fraction='
                f'{self.max_failure_fraction} (judged over at least {min_reads} reads); '
                f'{len(self.bad_media)} unreadable files, first: '
                + '; '.join(f'{p} ({r})' for p, r in list(self.bad_media.items())[:5]))

    def _another_index(self, idx: int) -> int:
        if self.test_mode or len(self) == 1:
            return (idx + 1) % len(self)
        return (idx + int(np.random.randint(1, len(self)))) % len(self)  # never idx itself

    def __getitem__(self, idx: int) -> dict:
        if not self._fully_initialized:
            print_log('Please call `full_init()` method manually to accelerate the speed.',
                      logger='current', level=logging.WARNING)
            self.full_init()
        replaced: List[str] = []
        for _ in range(self.max_refetch + 1):
            self._num_reads += 1
            try:
                data = self.prepare_data(idx)
            except MediaReadError as error:
                self._record_failure(error)
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
            f'{self.max_refetch + 1} clips in a row could not be read from {self.ann_file}; '
            f'last: {replaced[-1] if replaced else None}. Check the media files.')

    def get_gt_labels(self) -> List[List[int]]:
        """Class indices of every clip (used by the weighted sampler)."""
        return [list(self.get_data_info(i)['gt_label']) for i in range(len(self))]

    @property
    def num_classes(self) -> Optional[int]:
        classes = self.metainfo.get('classes')
        return None if classes is None else len(classes)
