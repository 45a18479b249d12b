_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 3, "inter": reconstruction + inter-modal InfoNCE (α = 0.1, τ = 0.1), no intra-modal term.
model = dict(intra_weight=0.)
