# DaR twin of resnet101_imagenet_120e_iid.py (same DaR setting as ResNet-50).
_base_ = "./resnet50_imagenet_120e_dar.py"
arch = "resnet101"
