# The DaR paper's Table 6: ResNet-101 pretrained on ImageNet (i.i.d. vs DaR, 120 epochs),
# then SimpleBaseline 256x192 on COCO keypoints.
#
# Seeds: what the claimed +0.6 keypoint AP needs at 80% power, α 0.05 (tools/plan_seeds.py):
# 5 pretraining runs per arm × 2 fine-tuning seeds per backbone, at σ_finetune = 0.2 and
# σ_pretrain = 0.2, both assumed: no public rerun spread of SimpleBaseline on COCO is known to us;
# 0.2 is MoCo's std over 5 fine-tuning trials of VOC detection AP (facebookresearch/moco,
# detection/README.md), a stand-in; the A/A experiment (configs/experiments/aa_tiny.py) measures
# both at CPU scale. Costs (GPU-hours): ResNet-101 120 epochs 590 (ResNet-50's 310, after Goyal et
# al. 2017, scaled by FLOPs 7.8/4.1; an assumption); SimpleBaseline 140 epochs 91 (the recipe's
# 164k iterations of batch 128 at an assumed 0.5 s/iteration on 4 GPUs).
name = "resnet101_imagenet_keypoints"
arms = dict(
    iid="configs/pretrain/resnet101_imagenet_120e_iid.py",
    dar="configs/pretrain/resnet101_imagenet_120e_dar.py",
    dar_cost86="configs/pretrain/resnet101_imagenet_120e_dar_cost86.py",  # p solved for the reported 86%
)
# Xiao et al.'s recipe, as the paper ran it; mmpose's 210-epoch recipe beside it.
tasks = dict(simplebaseline_xiao=dict(), simplebaseline=dict())
pretrain_seeds = [0, 1, 2, 3, 4]  # k
seeds = [0, 1]  # m
baseline = "iid"
