# Speech Commands v2 (SPC-2) fine-tuning data, audio only: spc1_finetune.py's pipelines and
# loaders (Table 10 "SPC") on the AST-style JSON datafiles of the 35-class v2 task, which the
# paper does not report. The paper's SPC-1 task is spc1_finetune.py.
# Layout: data/speechcommands/{speechcommands_class_labels_indices.csv,
# datafiles/speechcommand_{train,valid,eval}_data.json, audio/...wav}.
_base_ = ['./spc1_finetune.py']

data_root = 'data/speechcommands/'
label_file = 'speechcommands_class_labels_indices.csv'
spc2_dataset = dict(type='AVJsonDataset', data_root=data_root, label_file=label_file,
                    modality=('audio', ))
train_dataloader = dict(dataset=dict(
    spc2_dataset, _delete_=True, ann_file='datafiles/speechcommand_train_data.json',
    pipeline=_base_.train_pipeline))
val_dataloader = dict(dataset=dict(
    spc2_dataset, _delete_=True, ann_file='datafiles/speechcommand_eval_data.json',
    pipeline=_base_.test_pipeline, test_mode=True))
test_dataloader = val_dataloader
