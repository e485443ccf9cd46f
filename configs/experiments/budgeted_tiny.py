# The budgeted comparison at CPU scale on the embedded shapes (ResNet-18, 2400 images of 48 px,
# 10 epochs): every budgeted method at 0.3 and 0.5, unif-SGD with RICAP / mixup / RandAugment and
# p-SGD / c-SGD with RICAP at 0.3 and 0.5, InfoBatch, DaR with its equal-cost controls, i.i.d.;
# two seeds (50 pretraining cells, 43 min with --jobs 2 on 2 cores; docs/results.md).
# Then `python tools/gather.py runs/budgeted_tiny`.
name = "budgeted_tiny"
arms = dict(
    iid="configs/pretrain/resnet18_shapes_tiny_iid.py",
    budget="configs/pretrain/resnet18_shapes_tiny_budget.py",
    unif_sgd="configs/pretrain/resnet18_shapes_tiny_unif_sgd.py",
    p_sgd="configs/pretrain/resnet18_shapes_tiny_p_sgd.py",
    c_sgd="configs/pretrain/resnet18_shapes_tiny_c_sgd.py",
    selective_backprop="configs/pretrain/resnet18_shapes_tiny_selective_backprop.py",
    # Arazo et al.'s augmentation arms (their main finding: uniform sampling + RICAP at 30%
    # keeps full-budget accuracy); RandAugment is their code's variant at N=2, M=4
    unif_sgd_ricap="configs/pretrain/resnet18_shapes_tiny_unif_sgd_ricap.py",
    unif_sgd_mixup="configs/pretrain/resnet18_shapes_tiny_unif_sgd_mixup.py",
    unif_sgd_randaugment="configs/pretrain/resnet18_shapes_tiny_unif_sgd_randaugment.py",
    p_sgd_ricap="configs/pretrain/resnet18_shapes_tiny_p_sgd_ricap.py",
    c_sgd_ricap="configs/pretrain/resnet18_shapes_tiny_c_sgd_ricap.py",
    infobatch="configs/pretrain/resnet18_shapes_tiny_infobatch.py",
    dar=dict(config="configs/pretrain/resnet18_shapes_tiny_dar.py", controls=["random_drop", "budget"]),
)
budgets = [0.3, 0.5]
pretrain_seeds = [0, 1]
tasks = dict()
baseline = "iid"
