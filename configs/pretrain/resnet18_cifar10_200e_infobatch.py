# InfoBatch on CIFAR-10 with its published defaults (prune_ratio 0.5, delta 0.875). Its cost
# depends on the losses: measured, recorded in the export.
_base_ = "./resnet18_cifar10_200e_iid.py"
arm = dict(name="infobatch", prune_ratio=0.5, delta=0.875)
