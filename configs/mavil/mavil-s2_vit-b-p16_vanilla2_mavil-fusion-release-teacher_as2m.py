_base_ = ['./mavil-s2_vit-b-p16_vanilla2_mavil-fusion_64xb8-amp-coslr-20e_as2m.py']
# MAViL stage 2 (MAViL-Fusion targets) with the *released* pre-trained MAViL as the frozen
# teacher, converted with
#   python tools/model_converters/mavil_release.py RELEASE.pth \
#       checkpoints/mavil-release_as2m-pre.pth
# The student is mavilkit's default ViT-B. The release's fusion outputs leave no LayerNorm (see
# mavil-release_vit-b-p16_vanilla2_as2m.py), so each target token is normalised here (per-token
# LayerNorm without affine): mavilkit's own teachers end in a per-modality LayerNorm, and this
# keeps the regression targets on the same scale. The paper is silent on it.
model = dict(
    target_generator=dict(
        teacher_config='configs/mavil/mavil-release_vit-b-p16_vanilla2_as2m.py',
        teacher_checkpoint='checkpoints/mavil-release_as2m-pre.pth',
        norm_target=True))
