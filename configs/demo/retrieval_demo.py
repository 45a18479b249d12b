_base_ = [
    '../_base_/datasets/demo_finetune.py',
    '../_base_/default_runtime.py',
]
# Zero-shot audio→video retrieval (§4.5, Table 9) on the demo eval clips with the encoders of the
# demo stage-1 run: mean-pooled encoder tokens (CLS excluded), L2-normalised, cosine similarity;
# the i-th audio's positive is the i-th video. R@1/5/10 and median rank, both directions.
# Nothing is trained; the checkpoint is the MAViL checkpoint itself:
#   python tools/test.py configs/demo/retrieval_demo.py work_dirs/mavil-s1_demo/epoch_30.pth
model = dict(
    type='AVRetriever',
    audio_backbone=dict(type='AudioViT', arch='tiny', input_size=(1024, 128)),
    video_backbone=dict(type='VideoViT', arch='tiny', input_size=(8, 96, 96)))

train_dataloader = None  # zero-shot: nothing is trained
val_dataloader = None
test_cfg = dict(type='TestLoop')
test_evaluator = dict(type='RetrievalRecall', topk=(1, 5, 10))
