# The DaR ResNet-50 ImageNet preset (the paper's parameters, 73.9% cost) with GroupNorm (32
# groups): DaR against the from-scratch anchor done right (configs/experiments/
# rethinking_scratch.py). Everything else as the BN preset.
_base_ = "./resnet50_imagenet_120e_dar.py"
norm = "gn"
