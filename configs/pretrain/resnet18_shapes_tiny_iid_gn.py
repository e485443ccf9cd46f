# The tiny i.i.d. preset with GroupNorm (32 groups) in place of BatchNorm: the backbone of the
# from-scratch comparison (configs/experiments/rethinking_scratch_tiny.py), fine-tuned by the
# GroupNorm tasks (mask_rcnn_gn_tiny, fpn_gn_tiny). Everything else as the BN preset.
_base_ = "./resnet18_shapes_tiny_iid.py"
norm = "gn"
