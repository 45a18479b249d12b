_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_ht100m.py']
# MAViL stage 2 on HowTo100M (Table 9 "MAViL HT-100M"): the default stage 2 (MAViL-Fusion
# targets, Eq. 6) with the HowTo100M stage-1 run as its teacher, on the same video list.
teacher_run = 'mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_ht100m'
teacher_config = f'configs/mavil/{teacher_run}.py'
teacher_checkpoint = f'work_dirs/{teacher_run}/epoch_20.pth'
model = dict(target_generator=dict(
    _delete_=True, type='MAViLFusionTarget', teacher_config=teacher_config,
    teacher_checkpoint=teacher_checkpoint, norm_target=False))
custom_hooks = []  # reconstruction pictures need raw targets; stage 2 predicts features
