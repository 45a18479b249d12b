_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 2, MBT^(4): 4 bottleneck fusion layers with 4 bottleneck tokens, reconstruction only.
model = dict(
    neck=dict(type='MBTFusion', num_layers=4, num_bottlenecks=4),
    inter_weight=0.,
    intra_weight=0.)
