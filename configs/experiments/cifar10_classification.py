# The DaR paper's Table 2: CIFAR-10 accuracy of ResNet-110, ResNet-164 (pre-activation) and
# DenseNet-BC-100 (k=12), i.i.d. vs DaR; 300 epochs, lr ÷10 at 150 and 225. Five seeds, as
# the paper's discussion reports mean ± std over 5 runs; plus the re-weighting baseline, and
# DaR's equal-cost controls (random drop on DaR's schedule; i.i.d. within DaR's budget), and
# DaR at the paper's reported cost (83%).
name = "cifar10_classification"
arms = dict(
    iid="configs/pretrain/resnet110_cifar10_300e_iid.py",
    dar=dict(config="configs/pretrain/resnet110_cifar10_300e_dar.py", controls=["random_drop", "budget"]),
    dar_cost83="configs/pretrain/resnet110_cifar10_300e_dar_cost83.py",
    reweight="configs/pretrain/resnet110_cifar10_300e_reweight.py",
)
variants = [
    dict(name="resnet110", options={"arch": "resnet110_cifar"}),
    dict(name="resnet164", options={"arch": "resnet164_cifar"}),
    dict(name="densenet_bc100", options={"arch": "densenet_bc100_cifar", "train.batch_size": 64}),
]
pretrain_seeds = [0, 1, 2, 3, 4]
tasks = dict()
baseline = "iid"
# T2's "original paper" column: each architecture's own published CIFAR-10 (flip/translation
# augmentation) result as accuracy = 100 − its test error. PAPERS.md does not copy the DaR paper's
# table cells, so these come from the architectures' papers (what such a column reports); check
# them against the DaR paper's Table 2 before quoting the comparison.
original_paper = dict(cifar10=dict(
    resnet110_cifar=dict(top1=93.57),  # He et al., CVPR 2016, Table 6: 6.43% (best of 5; 6.61 ± 0.16 mean)
    resnet164_cifar=dict(top1=94.54),  # He et al., "Identity Mappings", ECCV 2016: pre-act ResNet-164, 5.46%
    densenet_bc100_cifar=dict(top1=95.49),  # Huang et al., CVPR 2017, Table 2, C10+: DenseNet-BC k=12, 4.51%
))
