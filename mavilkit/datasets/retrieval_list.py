"""Clip lists for audio↔video retrieval (MSR-VTT, YouCook; MAViL §4.5, Table 9)."""
import os.path as osp
from typing import Dict, List

from mavilkit.registry import DATASETS
from .base_av_dataset import BaseAVDataset
from .utils import read_annotation_lines


@DATASETS.register_module()
class RetrievalListDataset(BaseAVDataset):
    """Audio-video pairs listed one per line, for retrieval (no class labels).

    Format of ``ann_file`` (UTF-8 text; a byte-order mark, CRLF line ends and trailing blanks
    are accepted): one clip per line, fields separated by whitespace::

        # comment lines and blank lines are ignored
        <clip_id> <video_path> [<audio_path>]
        video7010 videos/video7010.mp4
        video7011 videos/video7011.mp4 audio/video7011.wav

    The audio is read from ``audio_path`` when given, otherwise from the video file's audio track.
    Relative paths are joined with ``data_prefix['video']`` / ``data_prefix['audio']`` (under
    ``data_root``). Clip ids must be unique: the i-th audio's positive is the i-th video. Paths
    may not contain spaces. The test split of MSR-VTT (1k-A) and the YouCook2 validation clips are
    written in this format by hand or with a one-line script from the official split files.

    A clip whose file lacks an audio (video) stream is ranked with a silent waveform (black
    frames) by default (``missing_modality='zeros'``, as VALOR does), so that the gallery is the
    protocol's whole list (about 12 % of the MSR-VTT 1k-A test videos have no audio track);
    each such clip is logged. ``'skip'`` leaves them out (a smaller gallery), ``'error'``
    treats them as unreadable files.

    Args:
        ann_file (str): The list file.
        data_prefix (dict): ``video`` and ``audio`` folders. Defaults to ``''`` for both.
        missing_modality (str): ``'zeros'``, ``'skip'`` or ``'error'``. Defaults to ``'zeros'``.
        **kwargs: see :class:`BaseAVDataset`.
    """

    def __init__(self, ann_file: str, data_prefix: dict = dict(video='', audio=''),
                 missing_modality: str = 'zeros', **kwargs):
        super().__init__(ann_file=ann_file, data_prefix=data_prefix,
                         missing_modality=missing_modality, **kwargs)

    def load_data_list(self) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(f'Retrieval list not found: {self.ann_file}')
        data_list: List[dict] = []
        seen: Dict[str, int] = {}
        for line_no, line in read_annotation_lines(self.ann_file):
            if line.startswith('#'):
                continue
            fields = line.split()
            if len(fields) not in (2, 3):
                raise ValueError(f'{self.ann_file}:{line_no}: expected "<clip_id> '
                                 f'<video_path> [<audio_path>]", got {line!r}')
            clip_id = fields[0]
            if clip_id in seen:
                raise ValueError(f'{self.ann_file}:{line_no}: clip id {clip_id!r} repeats '
                                 f'line {seen[clip_id]}')
            seen[clip_id] = line_no
            info = dict(clip_id=clip_id, filename=self._join('video', fields[1]))
            if len(fields) == 3:
                info['audio_path'] = self._join('audio', fields[2])
            data_list.append(info)
        if not data_list:
            raise ValueError(f'{self.ann_file} lists no clip')
        return data_list
