# VGGSound fine-tuning data, audio + video (Table 10 "VGGSound"): vggsound.csv as released,
# weighted sampling of 200,000 clips per epoch, random start + cyclic roll with magnitude
# augmentation ("R") and 20 dB noise ("N"), SpecAug 192/48, mixup 0.5, VGGSound statistics;
# validation with one test view, testing with 10 clips per video (Table 11); top-1/5 accuracy.
# The pipelines, loaders and device-side augmentation are audioset_finetune.py's (same recipe,
# Table 10); VGGSound changes the clips, the fbank statistics, adds the noise and scores accuracy.
# Layout: data/vggsound/{vggsound.csv, video/{ytid}_{start:06d}.mp4}.
_base_ = ['./audioset_finetune.py']

data_root = 'data/vggsound/'
fbank = dict(target_length=1024, num_mel_bins=128, **_base_.fbank_stats.vggsound)

vggsound_dataset = dict(type='VGGSoundDataset', data_root=data_root, ann_file='vggsound.csv',
                        data_prefix=dict(video='video'))
train_dataloader = dict(dataset=dict(
    vggsound_dataset, _delete_=True, split='train', pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(
    vggsound_dataset, _delete_=True, split='test', pipeline=_base_.test_pipeline, test_mode=True))
test_dataloader = dict(dataset=dict(
    vggsound_dataset, _delete_=True, split='test', pipeline=_base_.multiclip_test_pipeline,
    test_mode=True))

data_preprocessor = dict(fbank=fbank, noise_snr_db=20.)

val_evaluator = dict(_delete_=True, type='Accuracy', topk=(1, 5))
test_evaluator = val_evaluator
