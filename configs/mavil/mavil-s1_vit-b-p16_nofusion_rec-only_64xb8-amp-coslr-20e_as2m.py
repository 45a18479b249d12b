_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 2, fusion "None": no joint encoder, i.e. an Audio-MAE and a Video-MAE trained side by
# side (reconstruction only, 80 % masking).
model = dict(neck=dict(_delete_=True, type='IdentityFusion'), inter_weight=0., intra_weight=0.)
