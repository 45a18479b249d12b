_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 1, masking ratio 60 %: masked audio-video reconstruction only (Eq. 1, no contrastive
# terms, as Tables 1-2 precede the contrastive study of Table 3), 2 vanilla fusion layers.
model = dict(mask_ratio=0.60, inter_weight=0., intra_weight=0.)
