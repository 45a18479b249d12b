from .audioset import AudioSetDataset, parse_audioset_segments
from .av_json import AVJsonDataset
from .base_av_dataset import BaseAVDataset, find_missing
from .errors import MediaReadError, MissingStreamError
from .samplers import DistributedWeightedSampler, label_balanced_weights
from .transforms import *  # noqa: F401,F403
from .vggsound import VGGSoundDataset

__all__ = [
    'AudioSetDataset', 'parse_audioset_segments', 'AVJsonDataset', 'BaseAVDataset',
    'find_missing', 'MediaReadError', 'MissingStreamError', 'DistributedWeightedSampler',
    'label_balanced_weights',
    'VGGSoundDataset'
]
from .retrieval_list import RetrievalListDataset  # noqa: E402

__all__ += ['RetrievalListDataset']
from .speechcommands import SpeechCommandsDataset  # noqa: E402

__all__ += ['SpeechCommandsDataset']
