_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# A MAViL with CAV-MAE's layout (YuanGongND/cav-mae, ViT-B "modality_specific_depth=11"), for the
# checkpoint written by
#   python tools/model_converters/cav_mae.py cav-mae-scale++.pth checkpoints/cav-mae_mavilkit.pth
# 11 modality-specific blocks per encoder without final norm, CAV-MAE's shared layer as a
# one-layer fusion whose output norm is CAV-MAE's joint norm. Not mapped (see the converter):
# the CLS tokens (CAV-MAE has none), the modality-specific path of the shared layer, the joint
# decoder. The decoders here start from their initialisation.
# CAV-MAE's LayerNorms are plain nn.LayerNorm (eps 1e-5), not MAE's 1e-6.
_enc = dict(_delete_=True, embed_dims=768, num_layers=11, num_heads=12, mlp_ratio=4.,
            norm_eps=1e-5)
model = dict(
    audio_backbone=dict(arch=_enc, final_norm=False),
    video_backbone=dict(arch=_enc, final_norm=False, init_cfg=None),
    neck=dict(num_layers=1, norm_eps=1e-5),
    init_cfg=dict(type='Pretrained', checkpoint='checkpoints/cav-mae_mavilkit.pth'))
