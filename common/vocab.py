"""The words the stages share, defined once: arms, tasks, metrics, files and format tags.

Stage 1 writes them, stage 2 checks and copies them, stage 3 groups and labels by them; a
word used by more than one stage lives here and nowhere else.
"""

from __future__ import annotations

# --- arms: how a backbone was pretrained ------------------------------------------------
IID = "iid"  # uniform i.i.d. sampling: the baseline every Δ is taken against by default
RANDOM_INIT = "random_init"  # no pretraining (`--backbone none`): cost 0
TORCHVISION = "torchvision"  # an official torchvision checkpoint (i.i.d. ImageNet, cost 1)
# A method's display label and table order come from its class (pretrain.methods.base.Method
# `label`, `order`) through its exports (backbone.json `method_label`, `method_order`). Exports
# written before those keys, and the two arms that are no method, read theirs here. Frozen: a
# new method never goes here (tests/pretrain/test_readme_method.py checks the classes agree).
UNRANKED = 1000  # the order of a method that sets none: after every ranked one, by name
EARLIER_METHOD_LABELS: dict[str, tuple[str, int]] = {
    IID: ("i.i.d.", 0), TORCHVISION: ("torchvision", 10), "dar": ("DaR", 20), "dap": ("DaP", 30),
    "reweight": ("re-weight", 40), "budget": ("budget", 50), "unif_sgd": ("unif-SGD", 60),
    "p_sgd": ("p-SGD", 70), "c_sgd": ("c-SGD", 80), "selective_backprop": ("selective backprop", 90),
    "infobatch": ("InfoBatch", 100), RANDOM_INIT: ("random init", 110), "random_drop": ("random drop", UNRANKED),
}

# --- files and their format tags --------------------------------------------------------
BACKBONE_WEIGHTS = "backbone.pth"
BACKBONE_META = "backbone.json"
BACKBONE_FORMAT = "transfer-suite/backbone/v1"
RESULTS_FILE = "results.json"
RESULTS_FORMAT = "transfer-suite/results/v1"
SUBSET_FORMAT = "transfer-suite/subset/v1"  # the subset file of conditional pre-training

# --- metrics, exactly as each toolbox's evaluator names them ------------------------------
# mmdet and mmpose CocoMetric report fractions (-1 = no ground truth of that size), mmseg's
# IoUMetric reports percent.
BOX_METRICS = ("coco/bbox_mAP", "coco/bbox_mAP_50", "coco/bbox_mAP_75",
               "coco/bbox_mAP_s", "coco/bbox_mAP_m", "coco/bbox_mAP_l")
MASK_METRICS = tuple(name.replace("bbox", "segm") for name in BOX_METRICS)
KEYPOINT_METRICS = ("coco/AP", "coco/AP .5", "coco/AP .75", "coco/AP (M)", "coco/AP (L)",
                    "coco/AR", "coco/AR .5", "coco/AR .75", "coco/AR (M)", "coco/AR (L)")
# mmdet's VOCMetric at IoU 0.50:0.95 (transfer task faster_rcnn_c4_voc): AP50, AP75 and their
# mean over the ten thresholds, the COCO-style AP (fractions)
VOC_BOX_METRICS = ("pascal_voc/mAP", "pascal_voc/AP50", "pascal_voc/AP75")
MIOU = "mIoU"
TOP1, TOP5 = "top1", "top5"  # classification accuracy in percent (stage 1's and the fine-grained tasks')

FAMILY_METRICS: dict[str, tuple[str, ...]] = {
    "detection": BOX_METRICS,
    "voc_detection": VOC_BOX_METRICS,
    "instance_segmentation": BOX_METRICS + MASK_METRICS,
    "semantic_segmentation": (MIOU,),
    "keypoints": KEYPOINT_METRICS,
    "classification": (TOP1, TOP5),
}

# --- transfer tasks: name → metric family (their configs: transfer.tasks) -----------------
TINY_SUFFIX = "_tiny"  # a CPU-sized variant of the task before the suffix
_PAPER_TASKS = {
    "fpn": "detection",
    "mask_rcnn": "instance_segmentation",
    "pspnet": "semantic_segmentation",
    "simplebaseline": "keypoints",
    # "Rethinking ImageNet Pre-training"'s protocol: GroupNorm everywhere, nothing frozen
    "fpn_gn": "detection",
    "mask_rcnn_gn": "instance_segmentation",
}
_VOC_TASKS = {  # conditional pre-training's (and MoCo's) VOC transfer (Chakraborty et al.)
    "faster_rcnn_c4_voc": "voc_detection",
    "psanet_voc": "semantic_segmentation",
}
VOC_DATA_TASKS = tuple(_VOC_TASKS)  # read Pascal VOC data (the pipeline's demo data: generated VOC scenes)
_CLASSIFICATION_TASKS = {  # conditional pre-training's fine-grained targets (Chakraborty et al.)
    "finegrained_finetune": "classification",
    "finegrained_linear": "classification",
}
TASK_FAMILIES: dict[str, str] = {
    **_PAPER_TASKS,
    "simplebaseline_xiao": "keypoints",  # Xiao et al.'s own recipe, as the DaR paper ran it
    **{name + TINY_SUFFIX: family for name, family in _PAPER_TASKS.items()},
    **_CLASSIFICATION_TASKS,
    **{name + TINY_SUFFIX: family for name, family in _CLASSIFICATION_TASKS.items()},
    **_VOC_TASKS,
    **{name + TINY_SUFFIX: family for name, family in _VOC_TASKS.items()},
}


# Families whose tasks take `--schedule` (transfer.schedule): the detectors' 1x, 2x, 3x, 6x.
SCHEDULED_FAMILIES = ("detection", "instance_segmentation")
SCHEDULES = ("1x", "2x", "3x", "6x")
DEFAULT_SCHEDULE = "1x"  # what every detection task config states; results.json without a
                         # protocol.schedule (written before schedules existed) ran it

# --- backbone normalization: what stage 1 trains with and stage 2 must build ---------------
BN, GN = "bn", "gn"
NORMS = (BN, GN)
GN_GROUPS = 32  # GroupNorm's groups, as in Wu & He and every mmdet GN config
