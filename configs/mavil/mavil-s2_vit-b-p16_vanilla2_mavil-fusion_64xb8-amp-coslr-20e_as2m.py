_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# MAViL stage 2 on AS-2M, the paper's default (§3.3, Eq. 6, Table 4 "MAViL-Fusion", Table 10):
# a re-initialised student (same ViT-B architecture, video encoder again from ImageNet MAE)
# predicts, at the masked patches, the fusion-encoder outputs g_av(f_a(a) ‖ f_v(v)) of the frozen
# stage-1 teacher on the complete view; L = L_context + 0.1·L_inter + 0.01·L_intra, no raw loss
# (footnote 1). Same schedule as stage 1: 20 epochs, 64 GPUs × 8 clips, bf16 AMP.
# Run stage 1 first (mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py); the teacher is its
# last epoch.
teacher_config = 'configs/mavil/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py'
teacher_checkpoint = 'work_dirs/mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m/epoch_20.pth'

model = dict(
    # Decoders predict teacher features: MAViL sets their out_dims to the teacher width (768).
    target_generator=dict(
        _delete_=True,
        type='MAViLFusionTarget',
        teacher_config=teacher_config,
        teacher_checkpoint=teacher_checkpoint,
        norm_target=False),
    raw_weight=0.,
    inter_weight=0.1,
    intra_weight=0.01)

# No reconstruction images: they need raw targets, and stage 2 predicts features.
custom_hooks = []
