# DaR on CIFAR-10 at 200 epochs: W=20, I=4, p=0.9, alpha=20, R={50,100,150} (the ImageNet
# setting's proportions; the paper publishes no CIFAR parameters). `python tools/schedule.py`
# on this file prints its cost.
_base_ = "./resnet18_cifar10_200e_iid.py"
arm = dict(name="dar", warmup=20, interval=4, keep=0.9, active=20, refresh=[50, 100, 150], accumulate="last")
