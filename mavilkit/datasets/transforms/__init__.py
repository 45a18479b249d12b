from .audio import (FBANK_STATS, AudioAddNoise, AudioFbank, AudioRandomRoll, CenterAudioOnVideo,
                    PrepareWaveform, SpecAugment, SpectrogramNoise, add_noise_at_snr,
                    fbank_num_frames, fbank_num_samples, normalize_fbank, spec_augment,
                    waveform_to_fbank)
from .formatting import PackAVInputs
from .loading import LoadAudio, SampleVideoFrames, clip_frame_indices
from .pyav_video import SampleVideoFramesPyAV
from .video import VideoFlip, VideoRandomResizedCrop, VideoResizeCenterCrop

__all__ = [
    'FBANK_STATS', 'AudioAddNoise', 'AudioFbank', 'AudioRandomRoll', 'CenterAudioOnVideo',
    'PrepareWaveform', 'SpecAugment', 'SpectrogramNoise', 'add_noise_at_snr', 'fbank_num_frames',
    'fbank_num_samples', 'normalize_fbank', 'spec_augment',
    'waveform_to_fbank', 'PackAVInputs', 'LoadAudio', 'SampleVideoFrames',
    'SampleVideoFramesPyAV', 'clip_frame_indices',
    'VideoFlip', 'VideoRandomResizedCrop', 'VideoResizeCenterCrop'
]
