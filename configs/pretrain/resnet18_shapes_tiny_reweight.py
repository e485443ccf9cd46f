# Loss re-weighting baseline on the tiny preset (all samples kept).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="reweight", power=1.0)
