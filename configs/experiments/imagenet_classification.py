# The DaR paper's Table 4: ImageNet top-1/top-5 error of seven architectures, i.i.d. vs DaR
# (120 epochs, lr ÷10 every 30; DaR W=10, I=2, p=0.9, α=10, R={30,60,90}), each
# architecture with its original recipe's batch size, lr and weight decay.
name = "imagenet_classification"
arms = dict(
    iid="configs/pretrain/resnet50_imagenet_120e_iid.py",
    dar="configs/pretrain/resnet50_imagenet_120e_dar.py",
    dar_cost86="configs/pretrain/resnet50_imagenet_120e_dar_cost86.py",  # the paper's reported cost
)
variants = [
    dict(name="resnet18", options={"arch": "resnet18"}),
    dict(name="resnet50", options={"arch": "resnet50"}),
    dict(name="resnet101", options={"arch": "resnet101"}),
    dict(name="resnet152", options={"arch": "resnet152"}),
    dict(name="densenet121", options={"arch": "densenet121"}),
    dict(name="densenet169", options={"arch": "densenet169"}),
    # MobileNet-V1's recipe: lighter weight decay
    dict(name="mobilenet_v1", options={"arch": "mobilenet_v1", "train.weight_decay": 4e-5}),
]
tasks = dict()
baseline = "iid"
# T4's "original paper" columns: single-crop top-1 / top-5 error (%) as the architectures' own
# papers print them (PAPERS.md does not copy the DaR paper's cells; check them against its Table 4).
# He et al. (CVPR 2016) report 10-crop errors for the ResNets, not single-crop ones: their cells
# stay empty; Howard et al. report top-1 accuracy only.
original_paper = dict(imagenet=dict(
    densenet121=dict(top1_err=25.02, top5_err=7.71),  # Huang et al., CVPR 2017, Table 3, single-crop
    densenet169=dict(top1_err=23.80, top5_err=6.85),  # Huang et al., CVPR 2017, Table 3, single-crop
    mobilenet_v1=dict(top1_err=29.4),  # Howard et al. 2017, Table 6: 1.0 MobileNet-224, 70.6% top-1
))
