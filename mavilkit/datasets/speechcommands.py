"""Speech Commands (Warden, 2018), read from the released folder layout."""
import logging
import os
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Tuple

from mmengine.logging import print_log

from mavilkit.registry import DATASETS
from .base_av_dataset import BaseAVDataset
from .utils import read_annotation_lines

#: The ten keywords of SPC-1 (MAViL Table 8 / 10 "SPC-1").
SPC1_KEYWORDS = ('yes', 'no', 'up', 'down', 'left', 'right', 'on', 'off', 'stop', 'go')
SILENCE = '_silence_'
UNKNOWN = '_unknown_'
#: SPC-1's 12 classes in the order of TensorFlow's ``speech_commands`` example.
SPC1_CLASSES = (SILENCE, UNKNOWN) + SPC1_KEYWORDS
NOISE_DIR = '_background_noise_'
SPLIT_LISTS = dict(val='validation_list.txt', test='testing_list.txt')
_LIST_LINE = re.compile(r'^[^/\\]+/[^/\\]+\.wav$')


@DATASETS.register_module()
class SpeechCommandsDataset(BaseAVDataset):
    """Speech Commands v1 / v2 keyword spotting, audio only.

    Reads the release as downloaded: ``data_root/<word>/<speaker>_nohash_<n>.wav``,
    ``validation_list.txt``, ``testing_list.txt`` (paths ``<word>/<file>.wav``) and
    ``_background_noise_/*.wav``. The ``val`` and ``test`` splits are the files of the two lists;
    ``train`` is every other wav of the word folders.

    - ``task='spc1'`` (MAViL's SPC-1, 12 classes :data:`SPC1_CLASSES`): the ten keywords keep
      their class, every other word becomes ``_unknown_``, and ``_silence_`` samples are
      1-second chunks of the background-noise files, used at their recorded level. Each noise
      file of ``n`` whole seconds gives the non-overlapping chunks ``[k, k + 1)`` s,
      ``k = 0 .. n - 1``; with ``h = floor(silence_held_out * n)`` the last ``h`` go to
      ``test``, the ``h`` before them to ``val`` and the first ``n - 2h`` to ``train`` (splits
      never share noise). For the six v1 files (about 400 s) that is about 320 / 40 / 40.
    - ``task='spc2'``: one class per word folder (sorted; 35 for v2), no silence class.

    ``balance_classes=True`` (SPC-1 training, Table 10 footnote *: "we repeat and balance each
    class to 50% of the size of the unknown class") repeats every sample of a class ``c`` other
    than ``_unknown_`` ``r_c = max(1, floor(n_unknown / (2 n_c) + 1/2))`` times, i.e.
    ``0.5 n_unknown / n_c`` rounded half up, ``n`` counted in the train split. The repetition is
    part of the data list, which is built in sorted order from the files, so every rank holds
    the same list and mmengine's ``DefaultSampler`` shards and shuffles it as usual.

    Args:
        data_root (str): the extracted release folder.
        split (str): ``'train'``, ``'val'`` or ``'test'``.
        task (str): ``'spc1'`` or ``'spc2'``. Defaults to ``'spc1'``.
        balance_classes (bool): repeat classes as above (``spc1`` train only). Defaults to
            False.
        silence_held_out (float): fraction of each noise file's chunks for ``val`` and for
            ``test`` each. Defaults to 0.1.
        **kwargs: see :class:`BaseAVDataset`.
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 task: str = 'spc1',
                 balance_classes: bool = False,
                 silence_held_out: float = 0.1,
                 **kwargs):
        if split not in ('train', 'val', 'test'):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        if task not in ('spc1', 'spc2'):
            raise ValueError(f"task must be 'spc1' or 'spc2', got {task!r}")
        if balance_classes and (task != 'spc1' or split != 'train'):
            raise ValueError('balance_classes repeats classes relative to _unknown_ and is '
                             f"meant for task='spc1', split='train'; got {task!r}, {split!r}")
        if not 0. <= silence_held_out < 0.5:
            raise ValueError(f'silence_held_out must be in [0, 0.5), got {silence_held_out}')
        if not osp.isdir(data_root):
            raise FileNotFoundError(f'Speech Commands folder {data_root} does not exist')
        self.split = split
        self.task = task
        self.balance_classes = balance_classes
        self.silence_held_out = silence_held_out
        # ``ann_file`` names the source in BaseAVDataset's messages: the list file, or the
        # folder itself for the train split.
        ann_file = SPLIT_LISTS.get(split, osp.abspath(data_root))
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)

    # ------------------------------------------------------------------ reading
    def _read_list(self, path: str) -> List[Tuple[str, str]]:
        """``(relative path, where)`` of every line of a split list."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'{path} is missing (Speech Commands split list)')
        entries = []
        for lineno, rel in read_annotation_lines(path):
            if not _LIST_LINE.match(rel):
                raise ValueError(f'{path}:{lineno}: expected "<word>/<file>.wav", got {rel!r}')
            entries.append((rel, f'{path}:{lineno}'))
        return entries

    def _silence_chunks(self) -> List[Tuple[str, int]]:
        """``(noise file, start second)`` of this split's 1-s silence chunks."""
        import soundfile
        noise_dir = osp.join(self.data_root, NOISE_DIR)
        if not osp.isdir(noise_dir):
            raise FileNotFoundError(f'{noise_dir} is missing: SPC-1 cuts its {SILENCE} samples '
                                    'from the background-noise files of the release')
        chunks = []
        for name in sorted(n for n in os.listdir(noise_dir) if n.endswith('.wav')):
            path = osp.join(noise_dir, name)
            try:
                info = soundfile.info(path)
            except Exception as error:
                raise ValueError(f'{path}: cannot read the background-noise file: {error}')
            n = info.frames // info.samplerate
            h = int(self.silence_held_out * n)
            bounds = dict(train=(0, n - 2 * h), val=(n - 2 * h, n - h), test=(n - h, n))
            chunks += [(path, k) for k in range(*bounds[self.split])]
        if not chunks:
            raise ValueError(f'{noise_dir}: no 1-s {SILENCE} chunk for split {self.split!r}')
        print_log(f'Speech Commands {self.split}: {len(chunks)} {SILENCE} chunks of 1 s from '
                  f'{noise_dir}', logger='current', level=logging.INFO)
        return chunks

    def load_data_list(self) -> List[dict]:
        root = self.data_root
        words = sorted(d for d in os.listdir(root)
                       if not d.startswith('_') and osp.isdir(osp.join(root, d)))
        if not words:
            raise FileNotFoundError(f'{root}: no word folders (<word>/<speaker>_nohash_<n>.wav)')
        classes = SPC1_CLASSES if self.task == 'spc1' else tuple(words)
        index = {name: i for i, name in enumerate(classes)}
        self._metainfo['classes'] = classes

        if self.split == 'train':
            held_out = {rel for name in SPLIT_LISTS.values()
                        for rel, _ in self._read_list(osp.join(root, name))}
            entries = [(f'{w}/{f}', osp.join(root, w)) for w in words
                       for f in sorted(os.listdir(osp.join(root, w)))
                       if f.endswith('.wav') and f'{w}/{f}' not in held_out]
        else:
            entries = self._read_list(self.ann_file)

        data_list = []
        for rel, where in entries:
            word = rel.split('/')[0]
            if self.task == 'spc1':
                label = index[word] if word in SPC1_KEYWORDS else index[UNKNOWN]
            elif word in index:
                label = index[word]
            else:
                raise ValueError(f'{where}: word {word!r} has no folder in {root}')
            data_list.append(dict(audio_path=osp.join(root, rel), clip_id=rel[:-len('.wav')],
                                  gt_label=[label], num_classes=len(classes)))
        if self.task == 'spc1':
            for path, k in self._silence_chunks():
                data_list.append(dict(
                    audio_path=path, audio_segment=(float(k), float(k + 1)),
                    clip_id=f'{SILENCE}/{osp.splitext(osp.basename(path))[0]}_{k}',
                    gt_label=[index[SILENCE]], num_classes=len(classes)))
        for position, info in enumerate(data_list):
            info['clip_index'] = position  # before balancing: a repeated clip keeps its identity
            info['clip_uid'] = self.clip_uid(info)
        if self.balance_classes:
            data_list = self._balance(data_list, classes)
        return data_list

    def _balance(self, data_list: List[dict], classes: Tuple[str, ...]) -> List[dict]:
        counts = Counter(info['gt_label'][0] for info in data_list)
        n_unknown = counts[classes.index(UNKNOWN)]
        if n_unknown == 0:
            raise ValueError(f'{self.data_root}: the train split has no {UNKNOWN} sample to '
                             'balance against')
        repeats: Dict[int, int] = {
            c: 1 if classes[c] == UNKNOWN else max(1, (n_unknown + n_c) // (2 * n_c))
            for c, n_c in counts.items()}
        print_log('SPC-1 class balancing (Table 10 *): ' + ', '.join(
            f'{classes[c]} {counts[c]}x{repeats[c]}' for c in sorted(counts)),
            logger='current', level=logging.INFO)
        return [dict(info) for info in data_list for _ in range(repeats[info['gt_label'][0]])]

    # ------------------------------------------------------------------ silence chunks
    def prepare_data(self, idx: int):
        """Run the pipeline; a silence sample is cut to its chunk right after loading.

        ``audio_segment`` (seconds) is applied as soon as a transform (``LoadAudio``) has
        produced ``waveform``, so random roll, noise and fbank see only the 1-s chunk.
        """
        info = self.get_data_info(idx)
        segment = info.get('audio_segment')
        if segment is None:
            return self.pipeline(info)
        results, cut = info, False
        for transform in self.pipeline.transforms:
            results = transform(results)
            if results is None:
                return None
            if not cut and 'waveform' in results:
                rate = results['sample_rate']
                start, stop = (int(round(s * rate)) for s in segment)
                results['waveform'] = results['waveform'][start:stop]
                cut = True
        if not cut:
            raise RuntimeError(f'{info["clip_id"]}: the pipeline never loads the waveform '
                               '(LoadAudio), so the silence chunk cannot be cut')
        return results
