_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 5c, third column, stage 2: α = 1.0, β = 0.1 in both stages (our reading, README); the
# teacher is the stage-1 run with the same weights.
teacher_run = 'mavil-s1_vit-b-p16_vanilla2_ctr-w1.0-0.1_64xb8-amp-coslr-20e_as2m'
teacher_config = f'configs/mavil/{teacher_run}.py'
teacher_checkpoint = f'work_dirs/{teacher_run}/epoch_20.pth'
model = dict(inter_weight=1.0, intra_weight=0.1,
             target_generator=dict(teacher_config=teacher_config,
                                   teacher_checkpoint=teacher_checkpoint))
