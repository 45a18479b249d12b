"""AST / CAV-MAE JSON datafiles."""
import json
import os.path as osp
from typing import List, Sequence

from mavilkit.registry import DATASETS
from .base_av_dataset import BaseAVDataset
from .utils import mids_to_indices, read_annotation_text, read_class_labels_indices


@DATASETS.register_module()
class AVJsonDataset(BaseAVDataset):
    """Datafiles of the AST / Audio-MAE / CAV-MAE repositories, used unchanged.

    The file is ``{"data": [{"video_id": ..., "wav": ..., "video_path": ..., "labels":
    "/m/..,/m/.."}, ...]}``; labels are ids of ``label_file`` (``class_labels_indices.csv``).
    ``wav`` becomes ``audio_path`` (read by ``LoadAudio``). ``video_path`` may be the video file
    itself or, as in CAV-MAE datafiles, a folder, in which case the file is
    ``video_path / (video_id + video_ext)``.
    The file may start with a byte-order mark and use CRLF line ends; blanks around the string
    values are removed. (CAV-MAE's pre-extracted jpg frames are not read;
    point ``video_path`` to the videos.) Relative paths are joined with ``data_prefix``.

    Args:
        ann_file (str): the JSON datafile.
        label_file (str): ``class_labels_indices.csv``.
        modality (Sequence[str]): ``('audio', 'video')`` or ``('audio',)`` for audio-only sets
            (ESC-50, Speech Commands), where ``video_path`` is not needed.
        video_ext (str): extension appended to ``video_id`` when ``video_path`` is a folder.
        data_prefix (dict): ``audio`` and ``video`` folders.
        **kwargs: see :class:`BaseAVDataset`.
    """

    def __init__(self,
                 ann_file: str,
                 label_file: str,
                 modality: Sequence[str] = ('audio', 'video'),
                 video_ext: str = '.mp4',
                 data_prefix: dict = dict(audio='', video=''),
                 data_root: str = '',
                 **kwargs):
        if not set(modality) <= {'audio', 'video'} or not modality:
            raise ValueError(f"modality must be a subset of ('audio', 'video'), got {modality}")
        if data_root and not osp.isabs(label_file):
            label_file = osp.join(data_root, label_file)
        self.label_file = label_file
        self.modality = tuple(modality)
        self.video_ext = video_ext
        super().__init__(ann_file=ann_file, data_prefix=data_prefix, data_root=data_root,
                         **kwargs)

    def load_data_list(self) -> List[dict]:
        mid_to_index, names = read_class_labels_indices(self.label_file)
        self._metainfo['classes'] = tuple(names)
        try:
            entries = json.loads(read_annotation_text(self.ann_file))['data']
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise ValueError(f'{self.ann_file}: expected {{"data": [...]}} JSON: {error}')
        data_list = []
        for i, entry in enumerate(entries):
            where = f'{self.ann_file} entry {i}'
            for key in ('wav', 'labels') + (('video_path',) if 'video' in self.modality else ()):
                if key not in entry:
                    raise ValueError(f'{where}: missing key {key!r}')
            # blanks around names (a hand-edited datafile) are not part of the file names
            entry = {k: v.strip() if isinstance(v, str) else v for k, v in entry.items()}
            clip_id = str(entry.get('video_id', osp.splitext(osp.basename(entry['wav']))[0]))
            info = dict(
                audio_path=self._join('audio', entry['wav']),
                clip_id=clip_id,
                gt_label=mids_to_indices(entry['labels'], mid_to_index, where),
                num_classes=len(names))
            if 'video' in self.modality:
                video = entry['video_path']
                if video.endswith('/') or osp.splitext(video)[1] == '':
                    video = osp.join(video, clip_id + self.video_ext)
                info['filename'] = self._join('video', video)
            data_list.append(info)
        return data_list
