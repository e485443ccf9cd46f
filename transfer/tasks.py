"""The downstream tasks: name -> config file, toolbox, metric family and one-line description.

A plain dict on purpose (no registry): `TASKS["fpn"].config` is the file a run starts from.
Paper-scale tasks reproduce the DaR paper's four transfer settings, and `fpn_gn` / `mask_rcnn_gn`
the from-scratch protocol of "Rethinking ImageNet Pre-training"; each `*_tiny` variant
inherits its paper-scale config one level and shrinks it to run on a CPU in seconds on the
sample data in ../shared/data (same datasets, models and metrics, smaller everything else).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.provenance import REPO_ROOT
from common.vocab import TASK_FAMILIES

CONFIG_DIR = REPO_ROOT / "configs" / "transfer"


@dataclass(frozen=True)
class Task:
    """One downstream task: its config file, toolbox scope and the metrics its results carry."""

    name: str
    config: Path
    scope: str  # mmengine default_scope: which toolbox's registry builds the config
    family: str  # key of common.vocab.FAMILY_METRICS (the metrics its results carry)
    description: str


def _task(name: str, file: str, scope: str, description: str) -> Task:
    return Task(name, CONFIG_DIR / file, scope, TASK_FAMILIES[name], description)


TASKS: dict[str, Task] = {t.name: t for t in [
    _task("fpn", "faster_rcnn_r50_fpn_1x_coco.py", "mmdet",
          "COCO detection: Faster R-CNN R50-FPN, 1x (12 epochs), 1333x800, box AP"),
    _task("mask_rcnn", "mask_rcnn_r50_fpn_1x_coco.py", "mmdet",
          "COCO instance segmentation: Mask R-CNN R50-FPN, 1x, 1333x800, box and mask AP"),
    _task("pspnet", "pspnet_r50_d8_769x769_40k_cityscapes.py", "mmseg",
          "Cityscapes fine: PSPNet R50 dilated (output stride 8), 769x769 crops, 40k iters, mIoU"),
    _task("simplebaseline", "simplebaseline_r101_256x192_210e_coco.py", "mmpose",
          "COCO keypoints: SimpleBaseline (top-down heatmap) R101, 256x192, 210 epochs, AP/AR"),
    _task("fpn_gn", "faster_rcnn_r50_fpn_gn_90k_coco.py", "mmdet",
          "COCO detection as in Rethinking ImageNet Pre-training: Faster R-CNN R50-FPN, GroupNorm "
          "everywhere, nothing frozen, 1x = 90k iterations"),
    _task("mask_rcnn_gn", "mask_rcnn_r50_fpn_gn_90k_coco.py", "mmdet",
          "COCO instance segmentation, the same protocol: Mask R-CNN R50-FPN, GroupNorm everywhere, "
          "nothing frozen, 1x = 90k iterations"),
    _task("simplebaseline_xiao", "simplebaseline_r101_256x192_140e_coco_xiao.py", "mmpose",
          "COCO keypoints: SimpleBaseline R101 256x192 in Xiao et al.'s recipe (140 epochs, Adam 1e-3, "
          "batch 128)"),
    _task("fpn_tiny", "faster_rcnn_r18_fpn_tiny_coco_sample.py", "mmdet",
          "CPU smoke run of fpn: R18, 128 px, half-width heads, 4 iterations on the 4-image COCO sample"),
    _task("mask_rcnn_tiny", "mask_rcnn_r18_fpn_tiny_coco_sample.py", "mmdet",
          "CPU smoke run of mask_rcnn: R18, 128 px, half-width heads, 4 iterations on the 4-image COCO sample"),
    _task("pspnet_tiny", "pspnet_r18_d8_tiny_cityscapes_sample.py", "mmseg",
          "CPU smoke run of pspnet: R18 dilated (output stride 16), 128x128 crops, 4 iterations, 1 Cityscapes frame"),
    _task("simplebaseline_tiny", "simplebaseline_r18_tiny_coco_sample.py", "mmpose",
          "CPU smoke run of simplebaseline: R18, 128x96, 4 iterations on the COCO sample"),
    _task("fpn_gn_tiny", "faster_rcnn_r18_fpn_gn_tiny_coco_sample.py", "mmdet",
          "CPU smoke run of fpn_gn: R18 with GroupNorm, 256 px, 1x = 9 iterations on the COCO sample"),
    _task("mask_rcnn_gn_tiny", "mask_rcnn_r18_fpn_gn_tiny_coco_sample.py", "mmdet",
          "CPU smoke run of mask_rcnn_gn: R18 with GroupNorm, 256 px, 1x = 9 iterations on the COCO sample"),
    # Conditional pre-training's transfer (Chakraborty et al.): a plain torchvision loop
    # (transfer/classification.py), ImageFolder targets in train/val class folders.
    _task("finegrained_finetune", "finegrained_r34_finetune_224.py", "torchvision",
          "fine-grained classification (Stanford Cars / CUB / fMoW folders): R34 full fine-tuning, 224 px, "
          "90 epochs, top-1/top-5"),
    _task("finegrained_linear", "finegrained_r34_linear_224.py", "torchvision",
          "fine-grained classification: linear probe on the frozen R34 backbone, 224 px, 90 epochs, top-1/top-5"),
    _task("finegrained_finetune_tiny", "finegrained_r18_finetune_tiny.py", "torchvision",
          "CPU run of finegrained_finetune: R18, 48 px, 6 epochs on a generated target (--data-root)"),
    _task("finegrained_linear_tiny", "finegrained_r18_linear_tiny.py", "torchvision",
          "CPU run of finegrained_linear: R18, 48 px, 10 epochs on a generated target (--data-root)"),
    # Conditional pre-training's VOC transfer (Chakraborty et al., MoCo's protocol); the tiny
    # variants read a make_voc_scenes root (--data-root)
    _task("faster_rcnn_c4_voc", "faster_rcnn_r50_c4_24k_voc.py", "mmdet",
          "Pascal VOC detection: Faster R-CNN R50-C4 (res5 head = the export's layer4), 24k iterations, "
          "VOC2007 trainval -> test, AP50 and COCO-style AP/AP75"),
    _task("psanet_voc", "psanet_r50_d8_512x512_100e_voc12aug.py", "mmseg",
          "Pascal VOC 2012 (aug) segmentation: PSANet R50 dilated (output stride 8), 512x512, batch 16, lr 0.01, "
          "100 epochs, mIoU/mAcc/aAcc"),
    _task("faster_rcnn_c4_voc_tiny", "faster_rcnn_r18_c4_tiny_voc.py", "mmdet",
          "CPU run of faster_rcnn_c4_voc: R18-C4, 128 px, 8 iterations on generated VOC scenes (--data-root)"),
    _task("psanet_voc_tiny", "psanet_r18_d8_tiny_voc.py", "mmseg",
          "CPU run of psanet_voc: R18 dilated (output stride 16), 128x128, 8 iterations on generated VOC scenes "
          "(--data-root)"),
]}


def get_task(name: str) -> Task:
    """The task called `name`; a clear error listing the known tasks otherwise."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


def describe_tasks() -> str:
    """One line per task: name, toolbox and description (for `tools/transfer.py --list`)."""
    width = max(len(name) for name in TASKS)
    return "\n".join(f"{t.name:<{width}}  {t.scope:<6}  {t.description}" for t in TASKS.values())
