_base_ = [
    '../_base_/schedules/finetune_adamw_coslr-60e.py',
    '../_base_/default_runtime.py',
]
# Fine-tuned audio→video retrieval (§4.5, Table 9) on
# YouCook2 (train: training clips; test: validation clips):
# MAViL's encoders fine-tuned on the training audio-video pairs with the inter-modal
# InfoNCE (τ = 0.1, global-batch negatives), then
# audio queries ranked against all test videos by cosine similarity of mean-pooled, L2-normalised
# embeddings (R@1 in Table 9; R@5/10, median rank and video→audio are also reported).
# The paper gives no retrieval fine-tuning schedule: the AdamW settings of Table 10 with base lr
# 1e-4, 10 epochs (1 warm-up), batch 64 = 8 GPUs x 8 are our defaults.
# Lists (mavilkit.datasets.RetrievalListDataset): one "<clip_id> <video_path> [<audio_path>]" per
# line, paths relative to data/youcook/videos (audio from the video's track unless given).
data_root = 'data/youcook/'
pretrained = 'checkpoints/mavil_vit-b_as2m_stage2.pth'
model = dict(
    type='AVRetriever',
    audio_backbone=dict(
        type='AudioViT', arch='b', input_size=(1024, 128), patch_size=16, drop_path_rate=0.1),
    video_backbone=dict(
        type='VideoViT', arch='b', input_size=(8, 224, 224), patch_size=(2, 16, 16),
        drop_path_rate=0.1),
    loss=dict(type='InfoNCELoss', temperature=0.1, symmetric=True, gather_with_grad=True),
    audio_mask_ratios=(0.2, 0.2),
    video_mask_ratios=(0.2, 0.2),
    init_cfg=dict(type='Pretrained', checkpoint=pretrained))

fbank = dict(type='AudioFbank', target_length=1024, num_mel_bins=128, mean=-4.268, std=4.569)
train_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='AudioRandomRoll'),
    fbank,
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2),
    dict(type='VideoRandomResizedCrop', size=224, scale=(0.2, 1.0)),
    dict(type='VideoFlip', flip_ratio=0.5),
    dict(type='PackAVInputs'),
]
test_pipeline = [
    dict(type='LoadAudio', sample_rate=16000),
    fbank,
    dict(type='SampleVideoFrames', clip_len=8, frame_rate=2, num_clips=1, test_mode=True),
    dict(type='VideoResizeCenterCrop', size=224),
    dict(type='PackAVInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type='RetrievalListDataset', data_root=data_root, ann_file='train_list.txt',
                 data_prefix=dict(video='videos', audio=''), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type='RetrievalListDataset', data_root=data_root, ann_file='test_list.txt',
                 data_prefix=dict(video='videos', audio=''), pipeline=test_pipeline,
                 test_mode=True))
test_dataloader = val_dataloader
data_preprocessor = dict(type='AVDataPreprocessor', mixup_alpha=0.)

optim_wrapper = dict(optimizer=dict(lr=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-4, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=9, eta_min=1e-6, by_epoch=True, begin=1, end=10,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=2)

val_evaluator = dict(type='RetrievalRecall', topk=(1, 5, 10))
test_evaluator = val_evaluator
