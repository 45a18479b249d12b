_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 5c, first column, stage 2 (Table 5 reports the stage-2 model): both stages use the
# contrastive weights a decade below the default, α = 0.01, β = 0.001 (our reading, README); the
# teacher is the stage-1 run with the same weights.
teacher_run = 'mavil-s1_vit-b-p16_vanilla2_ctr-w0.01-0.001_64xb8-amp-coslr-20e_as2m'
teacher_config = f'configs/mavil/{teacher_run}.py'
teacher_checkpoint = f'work_dirs/{teacher_run}/epoch_20.pth'
model = dict(inter_weight=0.01, intra_weight=0.001,
             target_generator=dict(teacher_config=teacher_config,
                                   teacher_checkpoint=teacher_checkpoint))
