# MSR-VTT audio↔video retrieval data (§4.5, Table 9): train on the 9k training videos, test on
# the 1k-A test videos; the i-th audio's positive is the i-th video (R@1/5/10). Training uses the
# AudioSet statistics, random resized crop + flip (no SpecAug or mixup) and testing one centre
# view. Clips last 10-30 s (YouCook: minutes): CenterAudioOnVideo keeps the 10.24 s of audio
# centred on the sampled 4-s video window, so that an audio query and its video show the same
# moment (issue 11 §6); in training the video's random start (cyclic) replaces the audio roll.
# Lists (mavilkit.datasets.RetrievalListDataset): one "<clip_id> <video_path> [<audio_path>]" per
# line, paths relative to data/msrvtt/videos (audio from the video's track unless given).
_base_ = ['./av_transforms.py']

data_root = 'data/msrvtt/'
fbank = dict(type='AudioFbank', target_length=1024, num_mel_bins=128,
             **_base_.fbank_stats.audioset)
center_audio = dict(type='CenterAudioOnVideo', target_length=fbank['target_length'])
train_pipeline = [_base_.load_audio, *_base_.video_train_transforms, center_audio, fbank,
                  _base_.pack_inputs]
test_pipeline = [_base_.load_audio, *_base_.video_test_transforms, center_audio, fbank,
                 _base_.pack_inputs]

retrieval_dataset = dict(type='RetrievalListDataset', data_root=data_root,
                         data_prefix=dict(video='videos', audio=''))
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(retrieval_dataset, ann_file='train_list.txt', pipeline=train_pipeline))
val_dataloader = dict(
    train_dataloader,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(retrieval_dataset, ann_file='test_list.txt', pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader

data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.)

val_evaluator = dict(type='RetrievalRecall', topk=(1, 5, 10))
test_evaluator = val_evaluator
