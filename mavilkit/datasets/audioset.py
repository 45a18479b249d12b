"""AudioSet, read from Google's segment CSVs as released."""
import os.path as osp
from typing import List

from mavilkit.registry import DATASETS
from .base_av_dataset import BaseAVDataset
from .utils import (delimiter_hint, mids_to_indices, read_annotation_lines,
                    read_class_labels_indices, split_csv_line)


def parse_audioset_segments(ann_file: str):
    """Yield ``(lineno, ytid, start_seconds, end_seconds, labels)`` of a segment CSV.

    The released files (``balanced_train_segments.csv``, ``unbalanced_train_segments.csv``,
    ``eval_segments.csv``) start with ``#`` comment lines, put a space after each comma and quote
    the comma-separated label field: ``--PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"``.
    A byte-order mark, CRLF line ends and blanks around fields are accepted
    (:func:`~mavilkit.datasets.utils.read_annotation_lines`).
    """
    for lineno, line in read_annotation_lines(ann_file):
        if line.startswith('#'):
            continue
        row = split_csv_line(line)
        if len(row) != 4:
            raise ValueError(f'{ann_file}:{lineno}: expected "YTID, start_seconds, '
                             f'end_seconds, positive_labels", got {line!r}.'
                             + delimiter_hint(line, 4))
        try:
            start, end = float(row[1]), float(row[2])
        except ValueError:
            raise ValueError(f'{ann_file}:{lineno}: start/end seconds are not numbers: '
                             f'{line!r}')
        yield lineno, row[0], start, end, row[3]


@DATASETS.register_module()
class AudioSetDataset(BaseAVDataset):
    """AudioSet (AS-20K / AS-2M / eval) from the released segment CSVs.

    Each row becomes one clip whose media file is
    ``data_prefix['video'] / filename_tmpl.format(ytid=..., start=..., end=..., start_ms=...,
    end_ms=...)``; ``start`` / ``end`` are whole seconds (``30.000`` → ``30``) and ``start_ms`` /
    ``end_ms`` milliseconds, so ``'{ytid}_{start}_{end}.mp4'`` (default),
    ``'{ytid}_{start_ms}_{end_ms}.mp4'`` or ``'{ytid}.mp4'`` cover common downloaders. Each file
    must hold only its segment (audio is read from the file's start). Labels are multi-hot over
    the classes of ``label_file`` (527 for AudioSet).

    Args:
        ann_file (str): a segment CSV.
        label_file (str): ``class_labels_indices.csv`` (joined with ``data_root`` if relative).
        filename_tmpl (str): media file name template, see above.
        data_prefix (dict): ``video``: folder of the clips. Defaults to ``dict(video='')``.
        **kwargs: see :class:`BaseAVDataset`.

    Example:
        >>> dataset = AudioSetDataset(
        ...     data_root='data/audioset', ann_file='eval_segments.csv',
        ...     label_file='class_labels_indices.csv', data_prefix=dict(video='eval'),
        ...     pipeline=[])
    """

    def __init__(self,
                 ann_file: str,
                 label_file: str,
                 filename_tmpl: str = '{ytid}_{start}_{end}.mp4',
                 data_prefix: dict = dict(video=''),
                 data_root: str = '',
                 **kwargs):
        if data_root and not osp.isabs(label_file):
            label_file = osp.join(data_root, label_file)
        self.label_file = label_file
        self.filename_tmpl = filename_tmpl
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, data_root=data_root,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        mid_to_index, names = read_class_labels_indices(self.label_file)
        self._metainfo['classes'] = tuple(names)
        data_list = []
        for lineno, ytid, start, end, labels in parse_audioset_segments(self.ann_file):
            name = self.filename_tmpl.format(
                ytid=ytid, start=int(start), end=int(end), start_ms=int(round(start * 1000)),
                end_ms=int(round(end * 1000)))
            data_list.append(dict(
                filename=self._join('video', name),
                clip_id=ytid,
                gt_label=mids_to_indices(labels, mid_to_index, f'{self.ann_file}:{lineno}'),
                num_classes=len(names)))
        return data_list
