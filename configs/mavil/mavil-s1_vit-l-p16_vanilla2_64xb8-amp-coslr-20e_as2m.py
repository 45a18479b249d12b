_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 5e, ViT-L encoders (1024 dims, 24 layers, 16 heads); decoders unchanged (8 × 512).
# Video init: https://dl.fbaipublicfiles.com/mae/pretrain/mae_pretrain_vit_large.pth
video_init = dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_large.pth')
model = dict(audio_backbone=dict(arch='l'), video_backbone=dict(arch='l', init_cfg=video_init))
