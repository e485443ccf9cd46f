# The budgeted comparison at CPU scale on the embedded shapes (ResNet-18, 2400 images of 48 px,
# 10 epochs): every budgeted method at 0.3 and 0.5, InfoBatch, DaR with its equal-cost controls,
# i.i.d.; two seeds. About 20 min on 2 cores. Then `python tools/gather.py runs/budgeted_tiny`.
name = "budgeted_tiny"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid.py",
    budget="configs/pretrain/resnet18_shapes_tiny_budget.py",
    unif_sgd="configs/pretrain/resnet18_shapes_tiny_unif_sgd.py",
    p_sgd="configs/pretrain/resnet18_shapes_tiny_p_sgd.py",
    c_sgd="configs/pretrain/resnet18_shapes_tiny_c_sgd.py",
    selective_backprop="configs/pretrain/resnet18_shapes_tiny_selective_backprop.py",
    infobatch="configs/pretrain/resnet18_shapes_tiny_infobatch.py",
    dar=dict(config="configs/pretrain/resnet18_shapes_tiny_dar.py", controls=["random_drop", "budget"]),
)
budgets = [0.3, 0.5]
pretrain_seeds = [0, 1]
tasks = dict()
baseline = "iid"
