# Budgeted training (Arazo et al., BMVC 2021) beside DaR: ResNet-18 (CIFAR stem) on CIFAR-10 and
# CIFAR-100, 200 epochs, lr decayed linearly to 0 within each run's budget. Every method that
# takes a budget runs at 0.2, 0.3 and 0.5 of the i.i.d. compute: `budget` (i.i.d. over that
# fraction of the epochs), unif-SGD, p-SGD, c-SGD and selective backprop; InfoBatch with its
# published defaults and DaR with its equal-cost controls at their own (measured) cost; i.i.d.
# at 100%; Arazo et al.'s augmentation arms (unif-SGD with RICAP / mixup / RandAugment, their
# code's variant at N=2, M=4; p-SGD and c-SGD with RICAP) at every budget. Three seeds.
# `python tools/gather.py runs/budgeted_cifar` prints Arazo's layout (methods x budgets, top-1
# mean ± std, measured cost) beside T2/T3.
# Needs data/cifar (torchvision's cifar-10-batches-py and cifar-100-python) and GPUs.
name = "budgeted_cifar"
arms = dict(
    iid="configs/pretrain/resnet18_cifar10_200e_iid.py",
    budget="configs/pretrain/resnet18_cifar10_200e_budget.py",
    unif_sgd="configs/pretrain/resnet18_cifar10_200e_unif_sgd.py",
    p_sgd="configs/pretrain/resnet18_cifar10_200e_p_sgd.py",
    c_sgd="configs/pretrain/resnet18_cifar10_200e_c_sgd.py",
    selective_backprop="configs/pretrain/resnet18_cifar10_200e_selective_backprop.py",
    # Arazo et al.'s augmentation arms (their main finding: uniform sampling + RICAP at 30%
    # keeps full-budget accuracy); RandAugment is their code's variant at N=2, M=4
    unif_sgd_ricap="configs/pretrain/resnet18_cifar10_200e_unif_sgd_ricap.py",
    unif_sgd_mixup="configs/pretrain/resnet18_cifar10_200e_unif_sgd_mixup.py",
    unif_sgd_randaugment="configs/pretrain/resnet18_cifar10_200e_unif_sgd_randaugment.py",
    p_sgd_ricap="configs/pretrain/resnet18_cifar10_200e_p_sgd_ricap.py",
    c_sgd_ricap="configs/pretrain/resnet18_cifar10_200e_c_sgd_ricap.py",
    infobatch="configs/pretrain/resnet18_cifar10_200e_infobatch.py",
    dar=dict(config="configs/pretrain/resnet18_cifar10_200e_dar.py", controls=["random_drop", "budget"]),
)
variants = [
    dict(name="cifar10", options={}),
    dict(name="cifar100", options={"data.type": "cifar100"}),
]
budgets = [0.2, 0.3, 0.5]
pretrain_seeds = [0, 1, 2]
tasks = dict()
baseline = "iid"
