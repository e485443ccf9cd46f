# "Rethinking ImageNet Pre-training" (He, Girshick, Dollar), its Figure 1 in this suite: Mask
# R-CNN R50-FPN with GroupNorm in backbone, FPN and heads and nothing frozen (task
# mask_rcnn_gn) from a GroupNorm ResNet-50 pretrained on ImageNet (i.i.d.; DaR at its 73.9%
# cost) or from random initialisation, each trained 1x, 3x and 6x: 90k, 270k and 540k
# iterations of 16 images, the lr lowered x0.1 for the last 60k and 20k (transfer/schedule.py).
# The report: one table group per schedule (Δ rows only between arms of the same schedule) and
# box AP against iterations, one curve per initialisation (ap_vs_iterations_*.png).
# Needs data/imagenet, data/coco and GPUs (6x = 540k iterations per arm).
name = "rethinking_scratch"
arms = dict(
    iid="configs/pretrain/resnet50_imagenet_120e_iid_gn.py",
    dar="configs/pretrain/resnet50_imagenet_120e_dar_gn.py",
    random_init=None,
)
tasks = dict(mask_rcnn_gn=dict(schedules=["1x", "3x", "6x"]))
pretrain_seeds = [0]
seeds = [0]
baseline = "iid"
