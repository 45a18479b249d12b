_base_ = [
    '../../_base_/models/mavil_vit-b_audio-cls_short-clip.py',
    '../../_base_/datasets/speechcommands_finetune.py',
    '../../_base_/schedules/finetune_adamw_coslr-10e.py',
    '../../_base_/default_runtime.py',
]
# Fine-tunes the MAViL (stage-2, AS-2M) audio encoder on the 35-class Speech Commands v2 JSON
# datafiles with the SPC-1 recipe (Table 10 "SPC"). Not a paper number: the paper's SPC is the
# 12-class v1 task of the `_spc1-a` config.
model = dict(audio_backbone=dict(input_size=(128, 128)), head=dict(num_classes=35))
optim_wrapper = dict(paramwise_cfg=dict(layer_decay_rate=0.75))  # layer decay as Audio-MAE (README)
