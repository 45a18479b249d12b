_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 5d, no ImageNet initialisation: the video encoder is trained from scratch like the
# audio encoder (the default starts it from ImageNet self-supervised MAE).
model = dict(video_backbone=dict(init_cfg=None))
