# Selective backprop (Jiang et al., as Arazo et al. run it) on the tiny preset, at budget 0.5:
# 5 of the 10 epochs with the lr schedule compressed into them; every batch is scored and a
# sample back-propagated with probability (loss percentile)^3. Cost: measured, below 50%.
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="selective_backprop", budget=0.5, beta=3.0, history=1024)
