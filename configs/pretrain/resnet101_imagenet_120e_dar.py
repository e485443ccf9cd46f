# DaR twin of resnet101_imagenet_120e_iid.py, the ResNet-50 setting: W=10, I=2, p=0.9, α=10,
# R={30,60,90}; cost 73.9% (`python tools/schedule.py` on this file).
_base_ = "./resnet101_imagenet_120e_iid.py"
arm = dict(name="dar", warmup=10, interval=2, keep=0.9, active=10, refresh=[30, 60, 90], accumulate="last")
