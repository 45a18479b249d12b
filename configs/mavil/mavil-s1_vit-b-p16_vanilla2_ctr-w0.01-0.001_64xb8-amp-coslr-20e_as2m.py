_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 5c, first column (our reading, see README): contrastive weights a decade below the
# default, α = 0.01, β = 0.001.
model = dict(inter_weight=0.01, intra_weight=0.001)
