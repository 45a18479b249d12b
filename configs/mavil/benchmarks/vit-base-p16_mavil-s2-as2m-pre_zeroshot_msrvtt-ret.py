_base_ = ['./vit-base-p16_mavil-s2-as2m-pre_8xb8-coslr-10e_msrvtt-ret.py']
# Zero-shot audio→video retrieval on the MSR-VTT test list: the pre-trained MAViL encoders as
# they are (no fine-tuning). The checkpoint given to tools/test.py is the MAViL checkpoint itself:
#   python tools/test.py \
#     configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_zeroshot_msrvtt-ret.py \
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
