# DaR on ResNet-101 at the paper's reported ImageNet cost: p = 0.95 solved for 86% (86.01%), as
# resnet50_imagenet_120e_dar_cost86.py.
_base_ = "./resnet101_imagenet_120e_iid.py"
arm = dict(name="dar", warmup=10, interval=2, keep=0.95, active=10, refresh=[30, 60, 90], accumulate="last")
