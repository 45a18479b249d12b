_base_ = ['./vit-base-p16_mavil-s2-as2m-pre_8xb8-coslr-10e_msrvtt-ret.py']
# Fine-tuned audio→video retrieval on YouCook2 (§4.5, Table 9; train: training clips; test:
# validation clips): the MSR-VTT recipe (model, pipelines, schedule, R@K) on other lists, with
# paths relative to data/youcook/videos.
data_root = 'data/youcook/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
