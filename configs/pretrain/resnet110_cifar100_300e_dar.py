# DaR on CIFAR-100, the CIFAR-10 setting: W = 30, I = 5, p = 0.9, α = 25, R = {150, 225} (the lr
# drops). Cost 73.1%; the paper reports 92%: resnet110_cifar100_300e_dar_cost92.py.
_base_ = "./resnet110_cifar100_300e_iid.py"
arm = dict(name="dar", warmup=30, interval=5, keep=0.9, active=25, refresh=[150, 225], accumulate="last")
