# InfoBatch on the tiny preset: every epoch, half of the samples whose last loss is below the
# mean are left out at random and the other half's losses are doubled; epochs 1-8
# prune (1-based epoch <= 0.875 x 10, as the reference's sampler), the last two train on the
# full set. Cost: measured (the export).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="infobatch", prune_ratio=0.5, delta=0.875)
