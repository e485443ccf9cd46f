# The i.i.d. ResNet-50 ImageNet preset with GroupNorm (32 groups) in place of BatchNorm: the
# pretrained arm of "Rethinking ImageNet Pre-training"'s comparison (its GN backbone, Wu & He),
# fine-tuned by the GroupNorm tasks mask_rcnn_gn / fpn_gn. Everything else as the BN preset.
_base_ = "./resnet50_imagenet_120e_iid.py"
norm = "gn"
