_base_ = ['./vit-base-p16_mavil-s2-as2m-pre_8xb8-coslr-60e_as20k-a.py']
# Table 5e, ViT-L, audio: the audio encoder of the ViT-L MAViL (stage 2, its ablation run) on
# AS-20K with the ViT-B recipe (Table 10 gives ViT-L no lr of its own).
ckpt = 'work_dirs/mavil-s2_vit-l-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m/epoch_20.pth'
model = dict(audio_backbone=dict(arch='l'), init_cfg=dict(checkpoint=ckpt))
