"""VGGSound, read from ``vggsound.csv`` as released."""
from typing import List, Optional, Sequence, Union

from mavilkit.registry import DATASETS
from .base_av_dataset import BaseAVDataset
from .utils import delimiter_hint, read_annotation_lines, split_csv_line


@DATASETS.register_module()
class VGGSoundDataset(BaseAVDataset):
    """VGGSound (single-label, 309 classes).

    ``vggsound.csv`` has no header; each line is ``ytid,start_seconds,label,split`` where the
    label is quoted when it contains a comma (``"cattle, bovinae cowbell"``) and split is
    ``train`` or ``test``. Classes are indexed in sorted order of the labels found in the whole
    file (both splits, so train and test agree) unless ``classes`` is given.

    Args:
        ann_file (str): ``vggsound.csv``.
        split (str): ``'train'`` or ``'test'``.
        classes (str | Sequence[str], optional): class names in index order, or a text file
            with one name per line.
        filename_tmpl (str): media file name, formatted with ``ytid`` and ``start`` (int
            seconds). Defaults to ``'{ytid}_{start:06d}.mp4'``.
        data_prefix (dict): ``video``: folder of the clips.
        **kwargs: see :class:`BaseAVDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 split: str = 'train',
                 classes: Optional[Union[str, Sequence[str]]] = None,
                 filename_tmpl: str = '{ytid}_{start:06d}.mp4',
                 data_prefix: dict = dict(video=''),
                 **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test', got {split!r}")
        self.split = split
        self.class_names = [line for _, line in read_annotation_lines(classes)] \
            if isinstance(classes, str) else classes
        self.filename_tmpl = filename_tmpl
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, **kwargs)

    def load_data_list(self) -> List[dict]:
        rows = []
        for position, (lineno, line) in enumerate(read_annotation_lines(self.ann_file)):
            row = split_csv_line(line)
            if len(row) != 4:
                raise ValueError(f'{self.ann_file}:{lineno}: expected '
                                 f'"ytid,start_seconds,label,split", got {row}.'
                                 + delimiter_hint(line, 4))
            try:
                start = int(float(row[1]))
            except ValueError:
                raise ValueError(f'{self.ann_file}:{lineno}: start {row[1]!r} is not a number')
            rows.append((lineno, position, row[0], start, row[2], row[3]))
        names = list(self.class_names) if self.class_names is not None \
            else sorted({r[4] for r in rows})
        index = {n: i for i, n in enumerate(names)}
        self._metainfo['classes'] = tuple(names)
        data_list = []
        for lineno, position, ytid, start, label, split in rows:
            if split != self.split:
                continue
            if label not in index:
                raise ValueError(f'{self.ann_file}:{lineno}: label {label!r} is not in classes')
            name = self.filename_tmpl.format(ytid=ytid, start=start)
            data_list.append(dict(
                filename=self._join('video', name), clip_id=f'{ytid}_{start}',
                # the row among both splits: train and test clips never share an index
                clip_index=position,
                gt_label=[index[label]], num_classes=len(names)))
        return data_list
