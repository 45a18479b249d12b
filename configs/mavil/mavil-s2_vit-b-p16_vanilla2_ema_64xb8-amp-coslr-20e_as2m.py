_base_ = ['./mavil-s1_vit-b-p16_vanilla2_64xb8-amp-coslr-20e_as2m.py']
# Appendix B's one-stage variant (data2vec-style): MAViL trained on raw targets (raw_weight = 1,
# its raw decoders) whose EMA teacher gives complete-view fusion targets to a separate decoder
# per modality (the main decoders, 768 outputs per patch). mmengine's EMA convention: momentum is
# the weight of the NEW value, θ_ema ← (1 − m)·θ_ema + m·θ; 1e-4 = data2vec's decay 0.9999.
# Targets are layer-normed per token; training stops if their variance collapses below 0.01
# after 5000 updates. 20 epochs like each stage of the two-stage recipe. The paper reports this
# variant as less stable and worse than two stages (Appendix B); it prints no numbers for it.
model = dict(
    target_generator=dict(
        _delete_=True,
        type='EMATarget',
        momentum=1e-4,
        norm_target=True,
        min_target_var=0.01,
        var_check_after=5000),
    raw_weight=1.0)

# No reconstruction images: the stage-1 hook would draw the raw-target decoders only.
custom_hooks = []
