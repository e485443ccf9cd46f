# The DaR paper's Table 6: ResNet-101 pretrained on ImageNet (i.i.d. vs DaR, 120 epochs),
# then SimpleBaseline 256x192 on COCO keypoints; three fine-tuning seeds.
name = "resnet101_imagenet_keypoints"
arms = dict(
    iid="configs/pretrain/resnet101_imagenet_120e_iid.py",
    dar="configs/pretrain/resnet101_imagenet_120e_dar.py",
    dar_cost86="configs/pretrain/resnet101_imagenet_120e_dar_cost86.py",  # p solved for the reported 86%
)
# Xiao et al.'s recipe, as the paper ran it; mmpose's 210-epoch recipe beside it.
tasks = dict(simplebaseline_xiao=dict(), simplebaseline=dict())
seeds = [0, 1, 2]
baseline = "iid"
