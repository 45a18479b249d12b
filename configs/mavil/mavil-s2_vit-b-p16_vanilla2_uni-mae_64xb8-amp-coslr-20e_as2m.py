_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 4 "A/V-MAE": targets from separately pre-trained uni-modal MAEs. Their teacher run is
# mavil-s1_vit-b-p16_nofusion_rec-only_64xb8-amp-coslr-20e_as2m.py (no fusion, no contrastive
# loss): its audio and video branches share no parameter and no loss term, so they are an
# audio-only and a video-only MAE. Point the two teachers at different runs to use two.
uni_mae_config = 'configs/mavil/mavil-s1_vit-b-p16_nofusion_rec-only_64xb8-amp-coslr-20e_as2m.py'
uni_mae_checkpoint = \
    'work_dirs/mavil-s1_vit-b-p16_nofusion_rec-only_64xb8-amp-coslr-20e_as2m/epoch_20.pth'
model = dict(
    target_generator=dict(
        _delete_=True,
        type='UniMAETarget',
        audio_teacher=dict(config=uni_mae_config, checkpoint=uni_mae_checkpoint),
        video_teacher=dict(config=uni_mae_config, checkpoint=uni_mae_checkpoint),
        norm_target=False))
