_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 3, "intra": reconstruction + intra-modal InfoNCE (β = 0.01, τ = 1.0), no inter-modal term.
model = dict(inter_weight=0.)
