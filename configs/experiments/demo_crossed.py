# The crossed demo (`make demo-crossed`): the statistics of configs/experiments/demo.py on a design
# that measures both sources of spread. ResNet-18 pretrained on 2400 synthetic 48 px shapes, i.i.d.
# vs DaR (cost 81.6%), and a random-init arm; then the four transfer tasks' tiny configs on
# generated COCO-format scenes (boxes, polygon masks, 17 keypoints) and a Cityscapes-layout set.
# Each pretrained arm is pretrained twice (pretraining seeds 0, 1) and each backbone fine-tuned
# twice (seeds 0, 1), crossed: the smallest design that measures both σ_pretrain (between backbones)
# and σ_finetune (between fine-tuning seeds; report/variance.json) and gives the DaR − i.i.d. Δ an
# interval over pretraining runs, from which the report's seed planner says what would settle a
# 1-point effect. Random init, the lower anchor trained at the same schedule, runs one seed. 40
# cells, about 25 min with `--jobs 2` on 2 cores with AVX-512 (docs/results.md): past the demo's
# 15-minute budget, which is why it is a target of its own. Same arms, tasks and data as
# configs/experiments/demo.py; its schedules too but SimpleBaseline's, 120 iterations here, 60 there.
# Numbers are toy-scale: they show the machinery and the statistics work, not what the paper
# measures.
name = "demo_crossed"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid.py",
    dar="configs/pretrain/resnet18_shapes_tiny_dar.py",
    random_init=None,
)
tasks = dict(
    fpn_tiny=dict(cfg_options={"train_cfg.max_iters": 60}),
    mask_rcnn_tiny=dict(cfg_options={"train_cfg.max_iters": 60}),
    pspnet_tiny=dict(cfg_options={"train_cfg.max_iters": 300}),
    simplebaseline_tiny=dict(cfg_options={"train_cfg.max_iters": 120}),
)
pretrain_seeds = [0, 1]
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
