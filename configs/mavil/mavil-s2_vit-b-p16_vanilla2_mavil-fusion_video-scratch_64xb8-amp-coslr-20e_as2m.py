_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 5d, no ImageNet initialisation, stage 2: the student's video encoder starts from scratch,
# like its teacher's (the stage-1 video-scratch run), so no ImageNet weights enter the model.
teacher_run = 'mavil-s1_vit-b-p16_vanilla2_video-scratch_64xb8-amp-coslr-20e_as2m'
teacher_config = f'configs/mavil/{teacher_run}.py'
teacher_checkpoint = f'work_dirs/{teacher_run}/epoch_20.pth'
model = dict(video_backbone=dict(init_cfg=None),
             target_generator=dict(teacher_config=teacher_config,
                                   teacher_checkpoint=teacher_checkpoint))
