# The DaR paper's Tables 5 and 7: ResNet-50 pretrained on ImageNet with i.i.d. sampling and
# with DaR (120 epochs), then Faster R-CNN FPN and Mask R-CNN on COCO 2017 (1x) and PSPNet on
# Cityscapes; a random-init arm as the lower anchor (for the detectors trained as "Rethinking
# ImageNet Pre-training" does: GroupNorm, nothing frozen, 6x). Three fine-tuning seeds per
# cell. DaR is also compared with its equal-cost controls (73.9% of the compute): the same
# schedule keeping random instead of hard samples, and i.i.d. training compressed into the same
# budget.
# Needs data/imagenet, data/coco, data/cityscapes (see the README) and GPUs: run the cells on
# a cluster with torchrun/Slurm, or this file in one process per node.
name = "resnet50_imagenet_transfer"
arms = dict(
    iid="configs/pretrain/resnet50_imagenet_120e_iid.py",
    dar=dict(config="configs/pretrain/resnet50_imagenet_120e_dar.py", controls=["random_drop", "budget"]),
    dar_cost86="configs/pretrain/resnet50_imagenet_120e_dar_cost86.py",  # p solved for the reported 86%
    random_init=None,
)
tasks = dict(
    fpn=dict(arms=["iid", "dar", "dar_cost86"]),  # dar brings its controls along
    mask_rcnn=dict(arms=["iid", "dar", "dar_cost86"]),
    pspnet=dict(),
    # The detectors' random-init arm as "Rethinking ImageNet Pre-training" trains it: GroupNorm in
    # backbone, FPN and heads, nothing frozen, 6x (540k iterations), not frozen BN at 1x, which
    # would understate what training from scratch reaches. The report labels each row with its
    # schedule and says that this anchor differs from the pretrained arms' 1x.
    fpn_gn=dict(arms=["random_init"], schedules=["6x"]),
    mask_rcnn_gn=dict(arms=["random_init"], schedules=["6x"]),
)
pretrain_seeds = [0]
seeds = [0, 1, 2]
baseline = "iid"
