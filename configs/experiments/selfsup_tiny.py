# Self-supervised pretraining at CPU scale: MoCo v2 (pretrain/moco.py) on the 2400 shapes
# (configs/pretrain/resnet18_shapes_tiny_moco_v2.py, no labels), i.i.d. against MoCo v2 + DaR
# (ranking samples by their InfoNCE loss, cost 81.6% of i.i.d. MoCo v2), and random init; then
# the two tiny VOC tasks (Faster R-CNN R18-C4 with res5 from the export's layer4, PSANet R18) on
# generated VOC-format scenes. `python tools/gather.py runs/selfsup_tiny` prints the VOC table
# (method × AP/AP50/AP75, mIoU/mAcc/aAcc, with each arm's pretraining cost).
name = "selfsup_tiny"
arms = dict(
    moco_v2_iid="configs/pretrain/resnet18_shapes_tiny_moco_v2.py",
    moco_v2_dar="configs/pretrain/resnet18_shapes_tiny_moco_v2_dar.py",
    random_init=None,
)
tasks = dict(
    faster_rcnn_c4_voc_tiny=dict(cfg_options={"train_cfg.max_iters": 60}),
    psanet_voc_tiny=dict(cfg_options={"train_cfg.max_iters": 120}),
)
seeds = [0]
demo_data = dict(voc=dict(num_train=64, num_val=32, image_size=128, seed=0))
baseline = "moco_v2_iid"
