_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 2, Vanilla^(4): 4 vanilla Transformer fusion layers, reconstruction only.
model = dict(neck=dict(type='VanillaFusion', num_layers=4), inter_weight=0., intra_weight=0.)
