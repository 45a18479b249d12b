_base_ = ['./vit-base-p16_mavil-s2-as2m-pre_8xb8-coslr-60e_as20k-v.py']
# Table 5e, ViT-S, video: the video encoder of the ViT-S MAViL (stage 2, its ablation run) on
# AS-20K, at Table 10's ViT-S lr († 2e-3 instead of 1e-3).
ckpt = 'work_dirs/mavil-s2_vit-s-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m/epoch_20.pth'
model = dict(video_backbone=dict(arch='s'), init_cfg=dict(checkpoint=ckpt))
optim_wrapper = dict(optimizer=dict(lr=2e-3))
