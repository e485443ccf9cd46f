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
