# Selective backprop on CIFAR-10 at budget 0.3 (experiments sweep 0.2, 0.3, 0.5 with
# `budgets`): 60 of the 200 epochs, the lr schedule compressed into them; beta 3, a history of
# 1024 losses, as Arazo et al.'s code. Cost: measured, below the budget.
_base_ = "./resnet18_cifar10_200e_iid.py"
arm = dict(name="selective_backprop", budget=0.3, beta=3.0, history=1024)
