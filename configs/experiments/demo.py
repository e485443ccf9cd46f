# The embedded demo (`make demo`): the whole pipeline at toy scale on data the project
# generates itself. ResNet-18 pretrained on 2400 synthetic 48 px shapes, i.i.d. vs DaR
# (cost 81.6%), and a random-init arm; then the four transfer tasks' tiny configs on
# generated COCO-format scenes (boxes, polygon masks, 17 keypoints) and a Cityscapes-layout
# set. Numbers are toy-scale: they show the machinery works, not what the paper measures.
name = "demo"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid.py",
    dar="configs/pretrain/resnet18_shapes_tiny_dar.py",
    random_init=None,
)
tasks = dict(
    fpn_tiny=dict(cfg_options={"train_cfg.max_iters": 40}),
    mask_rcnn_tiny=dict(cfg_options={"train_cfg.max_iters": 30}),
    pspnet_tiny=dict(cfg_options={"train_cfg.max_iters": 40}),
    simplebaseline_tiny=dict(cfg_options={"train_cfg.max_iters": 40}),
)
seeds = [0]
demo_data = dict(
    coco=dict(num_train=64, num_val=16, image_size=128, seed=0),
    cityscapes=dict(num_train=32, num_val=8, seed=0),
)
baseline = "iid"
