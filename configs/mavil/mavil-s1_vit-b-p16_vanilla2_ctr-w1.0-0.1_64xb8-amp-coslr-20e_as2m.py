_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 5c, third column (our reading, see README): contrastive weights a decade above the
# default, α = 1.0, β = 0.1.
model = dict(inter_weight=1.0, intra_weight=0.1)
