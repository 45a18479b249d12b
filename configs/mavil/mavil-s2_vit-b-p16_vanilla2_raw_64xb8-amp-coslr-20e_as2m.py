_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Table 4 "Raw Inputs": a re-initialised student trained on raw spectrogram / pixel targets is the
# stage-1 recipe itself ("identical to one-staged MAViL", §4.3), so this config is the stage-1
# default under the stage-2 name, for running the Table-4 row next to the others.
