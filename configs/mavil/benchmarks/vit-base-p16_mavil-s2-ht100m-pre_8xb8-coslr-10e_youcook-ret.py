_base_ = ['./vit-base-p16_mavil-s2-as2m-pre_8xb8-coslr-10e_youcook-ret.py']
# Table 9 "MAViL HT-100M", YouCook: the YouCook retrieval recipe on the encoders of the MAViL
# pre-trained on HowTo100M (stage 2, configs/mavil/mavil-s2_…_ht100m.py).
model = dict(init_cfg=dict(
    checkpoint='work_dirs/mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_ht100m/'
    'epoch_20.pth'))
