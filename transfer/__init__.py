"""Stage 2: fine-tune a stage-1 backbone on the DaR paper's downstream tasks.

Four tasks, each with the real OpenMMLab toolbox, dataset and evaluator (transfer.tasks):
  fpn             COCO detection, Faster R-CNN R50-FPN 1x, 1333x800 (mmdet)
  mask_rcnn       COCO instance segmentation, Mask R-CNN R50-FPN 1x (mmdet)
  pspnet          Cityscapes fine, PSPNet R50 dilated to output stride 8, 769x769 (mmseg)
  simplebaseline  COCO keypoints, SimpleBaseline R101, 256x192 (mmpose)
and a `*_tiny` CPU variant of each on the sample data in ../shared/data.

A run (transfer.run.run_transfer, given one transfer.request.TransferRequest) builds its
config from the task config, the backbone and overrides (transfer.build), checks the backbone
contract (transfer.contract: every backbone tensor present with the right shape, the arch
matching, and after init_weights every tensor equal to the checkpoint's), checks the data files
(transfer.data), trains and tests with mmengine's Runner and writes results.json
(common.results.TransferResults, schema in that module's docstring).

Both arms of a comparison run the same task config: same pixel mean/std (ImageNet's, from
the task config, never from the arm), BN protocol (norm_cfg, norm_eval, frozen_stages),
schedule and seeds; results.json records them under "protocol". This holds for the
random-init arm too (`--backbone none`, the toolbox's default init): e.g. detection keeps
mmdet's frozen stem and frozen BN statistics. A study of random init with trainable BN
changes those keys with --cfg-options for every arm it compares.

Backbone choice for PSPNet: mmseg's reference PSPNet uses `ResNetV1c`, whose deep stem
(three 3x3 convs, `stem.*` keys) a torchvision-layout export cannot fill. Here PSPNet uses
mmseg's plain-stem `ResNet` (deep_stem=False) with the same dilation (strides (1, 2, 1, 1),
dilations (1, 1, 2, 4), contract_dilation=True; output stride 8), so every tensor of the
backbone comes from stage 1. Absolute mIoU is therefore not comparable to mmseg's model zoo
number for V1c, but the comparison between arms is exact.
"""
