_base_ = ['./benchmarks/vit-base-p16_mavil-s2-as2m-pre_64xb8-coslr-100e_as2m-av.py']
# The released MAViL A+V classifier fine-tuned on AS-2M (reported 53.1 mAP), converted with
#   python tools/model_converters/mavil_release.py RELEASE_FT_AV.pth \
#       checkpoints/mavil-release-ft_as2m-av.pth
# Same model as mavilkit's A+V classifier: encoders without final norm, 3 fusion blocks without
# final norm, audio and video tokens mean-pooled separately (CLS excluded), concatenated, fc_norm
# over 2·768, linear head (AVClassifier's default fc_norm=True). Evaluate with
#   python tools/test.py configs/mavil/mavil-release_vit-b-p16_as2m-ft-av.py \
#       checkpoints/mavil-release-ft_as2m-av.pth
# or fine-tune further from it (load_from).
model = dict(
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mavil-release-ft_as2m-av.pth'))
