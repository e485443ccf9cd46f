# c-SGD (Arazo et al.) on the tiny preset: every epoch 30% of the set, drawn by the confusion
# s(1 - s) of the running mean s of 1 - p_true; the lr schedule compressed (cost 30%).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="c_sgd", budget=0.3)
