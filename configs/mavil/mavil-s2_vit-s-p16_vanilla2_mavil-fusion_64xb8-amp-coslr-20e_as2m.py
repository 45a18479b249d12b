_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 5e, ViT-S, stage 2: a ViT-S student (video encoder from an ImageNet MAE ViT-S, as in
# stage 1) predicts the fusion outputs (384 wide) of the ViT-S stage-1 teacher.
teacher_config = 'configs/mavil/mavil-s1_vit-s-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
teacher_checkpoint = 'work_dirs/mavil-s1_vit-s-p16_vanilla2_64xb8-amp-coslr-20e_as2m/epoch_20.pth'
video_init = dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_small.pth')
model = dict(audio_backbone=dict(arch='s'), video_backbone=dict(arch='s', init_cfg=video_init),
             target_generator=dict(teacher_config=teacher_config,
                                   teacher_checkpoint=teacher_checkpoint))
