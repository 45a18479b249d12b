_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# The released MAViL ViT-B (pre-trained on AS-2M; av-superb `upstream_models/mavil`) as a
# mavilkit stage-1 MAViL, for the checkpoint written by
#   python tools/model_converters/mavil_release.py RELEASE.pth \
#       checkpoints/mavil-release_as2m-pre.pth
# The release differs from mavilkit's defaults in one place: no LayerNorm after the encoders nor
# after the 2 fusion blocks (final_norm=False). Both CLS tokens go through the fusion, as in
# mavilkit. Position embeddings are loaded from the file. The release has no decoders: they start
# from their initialisation (only stage 1/2 training from this model would use them).
# Uses: stage-2 teacher (mavil-s2_vit-b-p16_vanilla2_mavil-fusion-release-teacher_as2m.py),
# zero-shot retrieval and feature export (tools/test.py / tools/analysis/extract_features.py with
# this config), fine-tuning (model.init_cfg of a fine-tuning config).
model = dict(
    audio_backbone=dict(final_norm=False),
    video_backbone=dict(final_norm=False, init_cfg=None),
    neck=dict(final_norm=False),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mavil-release_as2m-pre.pth'))
