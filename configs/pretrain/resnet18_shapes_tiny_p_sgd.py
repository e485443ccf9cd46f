# p-SGD (Arazo et al.) on the tiny preset: every epoch 30% of the set, drawn by the running mean
# of 1 - p_true; the lr schedule compressed into the budget (cost 30%).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="p_sgd", budget=0.3)
