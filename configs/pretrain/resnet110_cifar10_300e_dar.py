# DaR on CIFAR-10. The paper reports 83% cost on CIFAR-10 but not its hyperparameters; this
# scales the ImageNet setting by 300/120: W=25, I=5, p=0.9, α=25, R={75,150,225}.
# `python tools/schedule.py` on this file prints the resulting cost.
_base_ = "./resnet110_cifar10_300e_iid.py"
arm = dict(name="dar", warmup=25, interval=5, keep=0.9, active=25, refresh=[75, 150, 225], accumulate="mean")
