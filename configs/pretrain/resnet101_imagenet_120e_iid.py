# ResNet-101 on ImageNet (the SimpleBaseline backbone), the same recipe as ResNet-50.
_base_ = "./resnet50_imagenet_120e_iid.py"
arch = "resnet101"
