# unif_sgd on CIFAR-10 at budget 0.3 (experiments sweep 0.2, 0.3, 0.5 with `budgets`): the lr
# schedule compressed into the budget (pretrain/methods/unif_sgd.py).
_base_ = "./resnet18_cifar10_200e_iid.py"
arm = dict(name="unif_sgd", budget=0.3)
