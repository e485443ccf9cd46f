# DaR on CIFAR-10 at the paper's reported cost (83%): resnet110_cifar10_300e_dar.py with p solved
# for it (`tools/schedule.py ... --target-cost 0.83`): p = 0.9403, cost 83.00%.
_base_ = "./resnet110_cifar10_300e_iid.py"
arm = dict(name="dar", warmup=30, interval=5, keep=0.9403, active=25, refresh=[150, 225], accumulate="last")
