# DaR on ImageNet-LT: the ImageNet setting with refreshes at the lr drops (30, 60).
_base_ = "./resnet10_imagenet_lt_90e_iid.py"
arm = dict(name="dar", warmup=10, interval=2, keep=0.9, active=10, refresh=[30, 60], accumulate="last")
