_base_ = ['./mavil-s1_demo.py']
# MAViL stage 2 in miniature (§3.3, Eq. 6): a re-initialised copy of the demo model learns to
# predict, at its masked patches, the fusion outputs of the frozen demo stage-1 model on the
# complete view. Run stage 1 first:
#   python tools/train.py configs/demo/mavil-s1_demo.py
#   python tools/train.py configs/demo/mavil-s2_demo.py
# The teacher is the newest checkpoint of the stage-1 work dir (its `last_checkpoint` marker);
# pass model.target_generator.teacher_checkpoint=FILE to pick another.
model = dict(
    target_generator=dict(
        _delete_=True,
        type='MAViLFusionTarget',
        teacher_config='configs/demo/mavil-s1_demo.py',
        teacher_checkpoint='work_dirs/mavil-s1_demo',
        norm_target=False),
    raw_weight=0.)

# No reconstruction images: they need raw targets, and stage 2 predicts features.
custom_hooks = []
