# Chakraborty et al., "Efficient Conditional Pre-training for Transfer Learning", unsupervised
# setting: MoCo-v2 ResNet-50 (configs/pretrain/resnet50_imagenet_200e_moco_v2.py, the published
# 200-epoch recipe) pretrained on the subset of ImageNet each selection method chooses for each
# target, at 224 and at 112 px, against MoCo-v2 on the whole of ImageNet and random init; then
# fine-tuned on the target. Selection by the domain classifier and by clustering (the paper's
# two), at 6% and 12% of ImageNet, on features of MoCo v2 learnt on the target as the paper's.
# Targets in train/val class folders (Stanford Cars, Caltech-UCSD Birds, fMoW; docs/data.md). The fine-tuning follows the paper's MoCo
# recipe for the fine-grained targets: 100 epochs, lr 0.001, batch 64, SGD (Cars, Birds).
# Not here yet: the paper's Adam for fMoW (one recipe per task, not per target), and the VOC
# detection/segmentation targets (faster_rcnn_c4_voc, psanet_voc run on any export, but the
# selection reads class folders, not a VOCdevkit). 2 fractions × 3 methods × 2 resolutions × 3
# targets = 36 MoCo-v2 runs: GPUs, one job per cell (`--dry-run` lists them).
name = "conditional_selfsup"
arms = dict(moco_v2_iid="configs/pretrain/resnet50_imagenet_200e_moco_v2.py", random_init=None)
selection = dict(
    source="configs/pretrain/resnet50_imagenet_200e_moco_v2.py",
    targets=dict(stanford_cars=dict(root="data/stanford_cars"), cub_200=dict(root="data/cub_200"),
                 fmow=dict(root="data/fmow")),
    methods=["domain_classifier", "clustering_avg", "clustering_min"],
    fractions=[0.06, 0.12],
    image_sizes=[224, 112],
    seed=0,
    k=200,  # the paper's K
    # the paper's "we use MoCo-v2 on Pascal VOC to learn representations": the selection's features
    # come from a ResNet-18 trained with MoCo v2 on each target's training images at 112 px
    # (pretrain/selection_moco.py: the published 200-epoch recipe, batch 256, lr 0.03; a queue of
    # 4096, under the smallest target's 5994 images, so that no image is its own negative), once
    # per target; its cost is in each subset's selection_cost. The linear selector reads those
    # features (clustering, and a logistic-regression domain classifier on them)
    selector="linear",
    feature_backbone=dict(name="moco_v2", arch="resnet18", epochs=200, batch_size=256, lr=0.03, queue_size=4096,
                          workers=8),
    feature_size=112,
)
# the task's SGD (transfer/classification.py) with the MoCo recipe's epochs, lr and batch; its
# step decay (÷10 at epochs 30 and 60) is the task's, the paper states none for this recipe
tasks = dict(finegrained_finetune=dict(cfg_options={"train.epochs": 100, "train.lr": 0.001, "train.batch_size": 64}))
seeds = [0]
baseline = "moco_v2_iid"
