# The DaR paper's Table 3: CIFAR-100 accuracy of ResNet-110, ResNet-164 (pre-activation) and
# DenseNet-BC-100 (k=12), i.i.d. vs DaR with the paper's described setting (cost 73.1%) and DaR
# at the paper's reported cost (92%); 300 epochs, lr ÷10 at 150 and 225; five seeds.
name = "cifar100_classification"
arms = dict(
    iid="configs/pretrain/resnet110_cifar100_300e_iid.py",
    dar=dict(config="configs/pretrain/resnet110_cifar100_300e_dar.py", controls=["random_drop", "budget"]),
    dar_cost92="configs/pretrain/resnet110_cifar100_300e_dar_cost92.py",
)
variants = [
    dict(name="resnet110", options={"arch": "resnet110_cifar"}),
    dict(name="resnet164", options={"arch": "resnet164_cifar"}),
    dict(name="densenet_bc100", options={"arch": "densenet_bc100_cifar", "train.batch_size": 64}),
]
pretrain_seeds = [0, 1, 2, 3, 4]
tasks = dict()
baseline = "iid"
# T3's "original paper" column: each architecture's own published CIFAR-100 (flip/translation
# augmentation) result as accuracy = 100 − its test error, from the architectures' papers (PAPERS.md
# does not copy the DaR paper's cells; check them against its Table 3). He et al. (CVPR 2016) report
# no CIFAR-100 result for ResNet-110: its cell stays empty.
original_paper = dict(cifar100=dict(
    resnet164_cifar=dict(top1=75.67),  # He et al., "Identity Mappings", ECCV 2016: pre-act ResNet-164, 24.33%
    densenet_bc100_cifar=dict(top1=77.73),  # Huang et al., CVPR 2017, Table 2, C100+: DenseNet-BC k=12, 22.27%
))
