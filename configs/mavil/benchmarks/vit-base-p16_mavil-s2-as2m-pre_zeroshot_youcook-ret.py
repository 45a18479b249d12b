_base_ = ['./vit-base-p16_mavil-s2-as2m-pre_zeroshot_msrvtt-ret.py']
# Zero-shot audio→video retrieval on the YouCook2 test list (paths relative to
# data/youcook/videos): the MSR-VTT zero-shot config on another list.
#   python tools/test.py \
#     configs/mavil/benchmarks/vit-base-p16_mavil-s2-as2m-pre_zeroshot_youcook-ret.py \
#     checkpoints/mavil_vit-b_as2m_stage2.pth
data_root = 'data/youcook/'
test_dataloader = dict(dataset=dict(data_root=data_root))
