# c-SGD with RICAP (four crops of four images patched into one, labels mixed by area; beta(0.3, 0.3),
# augment.mix_alpha).
# Arazo et al.'s augmentation arms: their main finding is that uniform sampling with strong
# augmentation at 30% budget keeps the full budget's accuracy. On the tiny preset;
# experiments sweep the budget.
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="c_sgd", budget=0.3)
augment = dict(mix="ricap", mix_alpha=0.3)
