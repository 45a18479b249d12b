_base_ = ['./mavil-ret_vit-b_8xb8-10e_msrvtt.py']
# Fine-tuned audio→video retrieval (§4.5, Table 9) on YouCook2 (train: training clips; test:
# validation clips): the MSR-VTT recipe (model, pipelines, schedule, R@K) on another list.
# Lists (mavilkit.datasets.RetrievalListDataset): one "<clip_id> <video_path> [<audio_path>]" per
# line, paths relative to data/youcook/videos (audio from the video's track unless given).
data_root = 'data/youcook/'
train_dataloader = dict(dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
