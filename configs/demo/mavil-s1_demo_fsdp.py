_base_ = ['./mavil-s1_demo.py']
# The demo pre-training with the student sharded by FSDP (mmengine FlexibleRunner +
# FSDPStrategy), one unit per encoder and per Transformer block. GPUs only (NCCL):
#   bash tools/dist_train.sh configs/demo/mavil-s1_demo_fsdp.py 2 --amp
runner_type = 'FlexibleRunner'
strategy = dict(
    type='FSDPStrategy',
    model_wrapper=dict(
        auto_wrap_policy='mavilkit.models.utils.fsdp.mavil_fsdp_auto_wrap_policy'),
    # one consolidated checkpoint (rank 0) that tools/test.py and stage 2 can read
    state_dict_cfg='full')
# The reconstruction hook needs the unsharded decoders' outputs and runs fine under FSDP, but the
# point of this config is the sharded step, so keep the run lean.
custom_hooks = []
