# rethinking_scratch at CPU scale: ResNet-18 with GroupNorm pretrained on the embedded synthetic
# shapes (configs/pretrain/resnet18_shapes_tiny_iid_gn.py, 10 epochs) vs random init, then
# mask_rcnn_gn_tiny (GroupNorm everywhere, nothing frozen) at 1x, 3x and 6x: 9, 27 and 54
# iterations, lr x0.1 for the last 3 and 1 of 1x's iterations (6 and 2 beyond 2x), on generated
# COCO-format scenes. Toy scale: it shows the machinery (schedules, tables per schedule, AP
# against iterations per initialisation), not the paper's result.
name = "rethinking_scratch_tiny"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid_gn.py",
    random_init=None,
)
tasks = dict(mask_rcnn_gn_tiny=dict(schedules=["1x", "3x", "6x"]))
seeds = [0]
demo_data = dict(
    coco=dict(num_train=64, num_val=16, image_size=128, seed=0),
    cityscapes=dict(num_train=2, num_val=1, seed=0),  # unused here; the demo data comes as a pair
)
baseline = "iid"
