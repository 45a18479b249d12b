# HowTo100M pre-training data (§4.5, Table 9 "MAViL HT-100M"): the instructional videos instead
# of AudioSet, no labels. HowTo100M videos last minutes, so a sample is a random 4-s video
# window anywhere in the video (8 frames at 2 fps; starts uniform over the whole video, cyclic
# past its end) with the 10.24 s of audio centred on it (CenterAudioOnVideo), so that the pair
# shows one moment; the window's random start is the random shift that AudioRandomRoll gives
# AudioSet's 10-s clips. Otherwise the AS-2M pre-training recipe: random resized crop (0.2, 1)
# + flip, no mixup / SpecAug, AudioSet fbank statistics (the paper gives none for HowTo100M;
# `tools/data/compute_fbank_stats.py` computes them for a list).
# List (mavilkit.datasets.RetrievalListDataset format, one video per line, whitespace-separated,
# `#` comments): `<video_id> <video_path> [<audio_path>]`, paths relative to
# data/howto100m/videos (and data/howto100m for audio). The audio is read from the video's track
# unless a 16-kHz wav / flac is given, which decodes much faster for minutes-long videos. A video
# without an audio stream is treated as unreadable: replaced by another one and counted
# (BadMediaHook), so that no pair mixes a video with silence.
_base_ = ['./audioset_pretrain.py']

data_root = 'data/howto100m/'
train_pipeline = [
    _base_.load_audio,
    *_base_.video_train_transforms,
    dict(type='CenterAudioOnVideo', target_length=_base_.fbank['target_length']),
    _base_.fbank,
    _base_.pack_inputs,
]
# AS-2M's loader (batch, workers, shuffling) with the video list instead of the segment CSVs.
train_dataloader = dict(dataset=dict(
    _delete_=True, type='RetrievalListDataset', data_root=data_root, ann_file='train_list.txt',
    data_prefix=dict(video='videos', audio=''), missing_modality='error',
    pipeline=train_pipeline))
