# Chakraborty et al., "Efficient Conditional Pre-training for Transfer Learning", unsupervised
# setting: MoCo-v2 ResNet-50 (configs/pretrain/resnet50_imagenet_200e_moco_v2.py, the published
# 200-epoch recipe) pretrained on the subset of ImageNet each selection method chooses for each
# target, at 224 and at 112 px, against MoCo-v2 on the whole of ImageNet and random init; then
# fine-tuned on the target. Selection by the domain classifier and by clustering (the paper's
# two), at 6% and 12% of ImageNet, on features of MoCo v2 learnt on the target as the paper's.
# Targets: Pascal VOC (a VOCdevkit with VOC2007 and VOC2012; the selection reads its training
# images, unlabelled: pretrain.data.VOCImages), transferred to Faster R-CNN R50-C4 (VOC2007
# trainval -> test) and PSANet R50 (VOC 2012 aug); and the fine-grained targets in train/val class
# folders (Stanford Cars, Caltech-UCSD Birds, fMoW; docs/data.md) with the paper's MoCo recipe:
# 100 epochs, lr 0.001, batch 64, SGD for Cars and Birds, Adam for fMoW (at the same lr: the
# paper gives one for the recipe). Each target's subsets go to its own tasks only
# (`tasks` per target). 2 fractions × 3 methods × 2 resolutions × 4 targets = 48 MoCo-v2 runs:
# GPUs, one job per cell (`--dry-run` lists them).
name = "conditional_selfsup"
arms = dict(moco_v2_iid="configs/pretrain/resnet50_imagenet_200e_moco_v2.py", random_init=None)
selection = dict(
    source="configs/pretrain/resnet50_imagenet_200e_moco_v2.py",
    targets=dict(
        voc=dict(root="data/VOCdevkit", tasks=["faster_rcnn_c4_voc", "psanet_voc"]),
        stanford_cars=dict(root="data/stanford_cars", tasks=["finegrained_finetune"]),
        cub_200=dict(root="data/cub_200", tasks=["finegrained_finetune"]),
        fmow=dict(root="data/fmow", tasks=["finegrained_finetune"],
                  task_options=dict(finegrained_finetune={"train.optimizer": "adam"}))),
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
# the fine-grained task's SGD (transfer/classification.py; Adam for fMoW above) with the MoCo
# recipe's epochs, lr and batch; its step decay (÷10 at epochs 30 and 60) is the task's, the
# paper states none for this recipe. The VOC tasks: their configs' (MoCo's detection protocol,
# 24k iterations; PSANet batch 16, lr 0.01, 100 epochs), as the paper.
tasks = dict(finegrained_finetune=dict(cfg_options={"train.epochs": 100, "train.lr": 0.001, "train.batch_size": 64}),
             faster_rcnn_c4_voc=dict(), psanet_voc=dict())
seeds = [0]
baseline = "moco_v2_iid"
