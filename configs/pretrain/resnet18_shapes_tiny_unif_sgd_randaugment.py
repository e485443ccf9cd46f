# unif-SGD with RandAugment as Arazo et al.'s code defines it (pretrain/randaugment.py: its own op
# list and ranges, not torchvision's) at N=2, M=4, before the crop and flip.
# Arazo et al.'s augmentation arms: their main finding is that uniform sampling with strong
# augmentation at 30% budget keeps the full budget's accuracy. On the tiny preset;
# experiments sweep the budget.
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="unif_sgd", budget=0.3)
augment = dict(randaugment=dict(num_ops=2, magnitude=4, variant="arazo"))
