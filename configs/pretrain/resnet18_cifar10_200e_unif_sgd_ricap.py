# unif-SGD with RICAP (four crops of four images patched into one, labels mixed by area; beta(0.3, 0.3),
# augment.mix_alpha).
# Arazo et al.'s augmentation arms: their main finding is that uniform sampling with strong
# augmentation at 30% budget keeps the full budget's accuracy. On CIFAR-10
# (budgeted_cifar's cifar100 variant switches the data);
# experiments sweep the budget.
_base_ = "./resnet18_cifar10_200e_iid.py"
arm = dict(name="unif_sgd", budget=0.3)
augment = dict(mix="ricap", mix_alpha=0.3)
