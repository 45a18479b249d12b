_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# Table 4 "MAViL-Uni": the same stage-1 teacher, but its uni-modal encoder outputs f_a(a), f_v(v)
# (before fusion) are the targets.
model = dict(target_generator=dict(type='MAViLUniTarget'))
