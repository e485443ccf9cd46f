# The embedded demo (`make demo`): the whole pipeline at toy scale on data the project generates
# itself, within 15 minutes on 2 cores. ResNet-18 pretrained on 2400 synthetic 48 px shapes, i.i.d.
# vs DaR (cost 81.6%), and a random-init arm; then the four transfer tasks' tiny configs on
# generated COCO-format scenes (boxes, polygon masks, 17 keypoints) and a Cityscapes-layout set.
# Every task learns within the budget (docs/results.md, "The demo's numbers").
#
# One backbone per arm, fine-tuned with seeds 0 and 1; random init one seed: 22 cells. So its
# DaR − i.i.d. Δ is conditional on one backbone per arm (the report says so): it measures
# σ_finetune, not σ_pretrain, and the seed planner can only bound what a claim needs. The design
# that measures both, configs/experiments/demo_crossed.py (`make demo-crossed`: 2 pretraining × 2
# fine-tuning seeds per arm, 40 cells, 25 minutes), is past the 15-minute budget.
#
# Within the budget on the slow kind of CPU too (issue 26; docs/results.md "The demo's numbers"):
# with the kernels capped at AVX2 these 22 cells took 17.2 minutes at the crossed demo's settings
# (SimpleBaseline at 60 iterations; 13.2 uncapped). What brought it under, each change measured
# first on both arms' backbones:
#  - Faster R-CNN and Mask R-CNN pool their RoIs with MatmulRoIAlign (their tiny configs;
#    transfer/roi_align.py): mmcv's function as matrix products, a step 0.64x / 0.66x the time;
#  - Mask R-CNN samples 64 RoIs per image (128) and its mask head is 64 channels wide (128);
#  - SimpleBaseline trains 40 iterations (the crossed demo 120).
# PSPNet keeps its 300 iterations of 4 crops of 128 px: its DaR arm sits nearest its threshold (2 ×
# the background-only 9.7), and every cheaper setting tried took it there or below (measured with
# the kernels capped: 180 iterations 17.9, 112-px crops 19.3, batch 2 9.5-13.6). The detectors need
# their 60 iterations (FPN box AP 7.3 at 40). The pretraining is the crossed demo's (seed 0), so
# the two experiments share these backbones.
# Numbers are toy-scale: they show the machinery works, not what the paper measures.
name = "demo"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid.py",
    dar="configs/pretrain/resnet18_shapes_tiny_dar.py",
    random_init=None,
)
tasks = dict(
    fpn_tiny=dict(cfg_options={"train_cfg.max_iters": 60}),
    mask_rcnn_tiny=dict(cfg_options={"train_cfg.max_iters": 60, "model.train_cfg.rcnn.sampler.num": 64,
                                     "model.roi_head.mask_head.conv_out_channels": 64}),
    pspnet_tiny=dict(cfg_options={"train_cfg.max_iters": 300}),
    simplebaseline_tiny=dict(cfg_options={"train_cfg.max_iters": 40}),
)
pretrain_seeds = [0]
seeds = [0, 1]
random_init_seeds = [0]
demo_data = dict(
    coco=dict(num_train=64, num_val=32, image_size=128, seed=0),
    # 3-6 large shapes (radius 28-56 px at 128 px height; 24% shape pixels): with the default
    # 3-7 shapes of radius 8-40 (14%) PSPNet's short schedule learned only "road" (mIoU 9.3),
    # with 6-12 of radius 14-44 (27%) it reached 13.4, with these 22.4 (measured)
    cityscapes=dict(num_train=32, num_val=16, shapes=(3, 6), radius=(28, 56), seed=0),
)
baseline = "iid"
