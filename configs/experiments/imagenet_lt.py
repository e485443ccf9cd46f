# The DaR paper's Table 8: ResNet-10 on ImageNet-LT, i.i.d. vs DaR; many/medium/few-shot and
# overall top-1.
name = "imagenet_lt"
arms = dict(
    iid="configs/pretrain/resnet10_imagenet_lt_90e_iid.py",
    dar="configs/pretrain/resnet10_imagenet_lt_90e_dar.py",
)
tasks = dict()
baseline = "iid"
