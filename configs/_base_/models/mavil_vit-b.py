# MAViL stage 1 with ViT-B encoders (§3.1–3.2, §4.2, Appendix B):
# audio 1×1024×128 fbank → 16×16 patches (N = 512);
# video 8×224×224 → 2×16×16 tubelets (M = 784);
# 80 % masking; 2-layer vanilla fusion; decoders 8 × 512, 16 heads; raw targets (Eq. 1), each
# patch normalised by its own mean and variance (norm_pix, as Audio-MAE, MAE and mae_st
# pre-train; the paper is silent, see configs/mavil/README.md);
# Eq. 4 with α = 0.1 (τ_inter = 0.1) and β = 0.01 (τ_intra = 1.0).
model = dict(
    type='MAViL',
    audio_backbone=dict(
        type='AudioViT', arch='b', input_size=(1024, 128), patch_size=16, in_channels=1),
    video_backbone=dict(
        type='VideoViT',
        arch='b',
        input_size=(8, 224, 224),
        patch_size=(2, 16, 16),
        in_channels=3,
        # §4.2 / Table 5d: the video encoder starts from ImageNet self-supervised MAE
        # (https://dl.fbaipublicfiles.com/mae/pretrain/mae_pretrain_vit_base.pth).
        init_cfg=dict(type='Pretrained', checkpoint='checkpoints/mae_pretrain_vit_base.pth')),
    neck=dict(type='VanillaFusion', num_layers=2),
    audio_decoder=dict(type='MAEDecoder', embed_dims=512, num_layers=8, num_heads=16),
    video_decoder=dict(type='MAEDecoder', embed_dims=512, num_layers=8, num_heads=16),
    target_generator=dict(type='RawTarget', norm_pix=True),
    # the raw loss next to teacher targets (one-stage EMA variant) uses the same targets
    raw_target=dict(type='RawTarget', norm_pix=True),
    rec_loss=dict(type='MaskedReconstructionLoss'),
    inter_loss=dict(type='InfoNCELoss', temperature=0.1, gather_with_grad=True),
    intra_loss=dict(type='InfoNCELoss', temperature=1.0, gather_with_grad=True),
    inter_weight=0.1,
    intra_weight=0.01,
    mask_ratio=0.8)
