_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 5e, ViT-L, stage 2: a ViT-L student (video encoder from the ImageNet MAE ViT-L, as in
# stage 1) predicts the fusion outputs (1024 wide) of the ViT-L stage-1 teacher.
teacher_config = 'configs/mavil/mavil-s1_vit-l-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
teacher_checkpoint = 'work_dirs/mavil-s1_vit-l-p16_vanilla2_64xb8-amp-coslr-20e_as2m/epoch_20.pth'
video_init = dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_large.pth')
model = dict(audio_backbone=dict(arch='l'), video_backbone=dict(arch='l', init_cfg=video_init),
             target_generator=dict(teacher_config=teacher_config,
                                   teacher_checkpoint=teacher_checkpoint))
