# unif-SGD (Arazo et al.) on the tiny preset: every epoch a fresh uniform 30% of the set, the lr
# schedule compressed into the budget (cost 30%).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="unif_sgd", budget=0.3)
