_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 5e, ViT-S encoders (384 dims, 12 layers, 6 heads); the fusion layers follow the encoder
# width; decoders unchanged (8 × 512). facebookresearch/mae releases no ViT-S: put an ImageNet
# self-supervised MAE ViT-S checkpoint (same key names) at the path below, or set init_cfg=None.
video_init = dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_small.pth')
model = dict(audio_backbone=dict(arch='s'), video_backbone=dict(arch='s', init_cfg=video_init))
