# The DaR paper's Table 3: as cifar10_classification.py on CIFAR-100.
_base_ = "./cifar10_classification.py"
name = "cifar100_classification"
pretrain_options = {"data.type": "cifar100"}
