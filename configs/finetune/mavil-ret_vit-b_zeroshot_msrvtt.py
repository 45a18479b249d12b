_base_ = ['./mavil-ret_vit-b_8xb8-10e_msrvtt.py']
# Zero-shot audio→video retrieval on the msrvtt test list: the pre-trained MAViL encoders as they
# are (no fine-tuning). The checkpoint given to tools/test.py is the MAViL checkpoint itself:
#   python tools/test.py configs/finetune/mavil-ret_vit-b_zeroshot_msrvtt.py \
#     checkpoints/mavil_vit-b_as2m_stage2.pth
model = dict(
    audio_backbone=dict(drop_path_rate=0.),
    video_backbone=dict(drop_path_rate=0.),
    init_cfg=None)
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
auto_scale_lr = None
val_dataloader = None
val_cfg = None
val_evaluator = None
