# A/A experiment at CPU scale: i.i.d. against a second i.i.d. arm that differs only in its
# pretraining seeds (seed_offset: pretraining seed s of `iid_again` trains with seed s + 1000 and is
# paired with seed s of `iid`). There is no true difference, so every method-level interval must
# cover 0 about 95% of the time, and the runs measure the two sources of spread the seed planner
# needs: σ_pretrain (between backbones of one arm) and σ_finetune (between fine-tuning seeds of one
# backbone), per task, in report/variance.json. 3 pretraining seeds × 2 fine-tuning seeds per arm on
# PSPNet and SimpleBaseline tiny, with the crossed demo's data and schedules (configs/experiments/demo_crossed.py).
name = "aa_tiny"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid.py",
    iid_again=dict(config="configs/pretrain/resnet18_shapes_tiny_iid.py", seed_offset=1000),
)
tasks = dict(
    pspnet_tiny=dict(cfg_options={"train_cfg.max_iters": 300}),
    simplebaseline_tiny=dict(cfg_options={"train_cfg.max_iters": 120}),
)
pretrain_seeds = [0, 1, 2]
seeds = [0, 1]
demo_data = dict(
    coco=dict(num_train=64, num_val=32, image_size=128, seed=0),
    cityscapes=dict(num_train=32, num_val=16, shapes=(3, 6), radius=(28, 56), seed=0),
)
baseline = "iid"
