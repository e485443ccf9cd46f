# p_sgd on CIFAR-100 at budget 0.3 (experiments sweep 0.2, 0.3, 0.5 with `budgets`): the lr
# schedule compressed into the budget (pretrain/methods/p_sgd.py).
_base_ = "./resnet18_cifar100_200e_iid.py"
arm = dict(name="p_sgd", budget=0.3)
