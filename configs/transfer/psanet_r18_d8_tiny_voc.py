# CPU run of `psanet_voc`: PSANet R18 dilated (output stride 16) on the generated VOC scenes
# (transfer/synthetic.py make_voc_scenes; --data-root: the VOCdevkit root, VOC2012 is read),
# 128x128 crops, 9 classes (background + the eight shapes); same dataset class, model code
# (mmcv's PSAMask op) and IoUMetric as the paper-scale run. Task `psanet_voc_tiny`.
_base_ = './psanet_r50_d8_512x512_100e_voc12aug.py'

data_root = 'data/voc_scenes/VOC2012/'  # --data-root ROOT reads ROOT/VOC2012
crop_size = (128, 128)
# The scenes' SegmentationClass PNGs store shape k (common/shapes.py CLASSES, k = 1..8) as VOC label
# k, so under the VOC layout they read as VOC's first nine classes; mmseg's PascalVOCDataset accepts
# only a subset of its own class names (the shapes' names are refused), and with these the label map
# is the identity on 0-8. The per-class results carry these names: aeroplane = circle, ... cat = ell.
metainfo = dict(classes=('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat'),
                palette=[[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0], [0, 0, 128], [128, 0, 128],
                         [0, 128, 128], [128, 128, 128], [64, 0, 0]])
model = dict(
    data_preprocessor=dict(size=crop_size),
    # stage-1 demo backbones are resnet18; output stride 16 (layer4 dilated 2) as pspnet_tiny
    backbone=dict(depth=18, strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),
    decode_head=dict(in_channels=512, channels=64, num_classes=9,
                     mask_size=(9, 9)),  # 128 px crops at stride 16: 8x8 features (+1, odd)
    auxiliary_head=dict(in_channels=256, channels=32, num_classes=9))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(128, 128), ratio_range=(1.0, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
voc_scenes = dict(type='PascalVOCDataset', data_root=data_root, img_suffix='.jpg', seg_map_suffix='.png',
                  metainfo=metainfo, data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'))
# --data-root ROOT: the VOC2012 part of a make_voc_scenes root
data_root_layout = dict(
    train=dict(data_prefix=dict(img_path='VOC2012/JPEGImages', seg_map_path='VOC2012/SegmentationClass'),
               ann_file='VOC2012/ImageSets/Segmentation/train.txt'),
    test=dict(data_prefix=dict(img_path='VOC2012/JPEGImages', seg_map_path='VOC2012/SegmentationClass'),
              ann_file='VOC2012/ImageSets/Segmentation/val.txt'))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **voc_scenes, ann_file='ImageSets/Segmentation/train.txt',
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=1, num_workers=0, persistent_workers=False,
    dataset=dict(_delete_=True, **voc_scenes, ann_file='ImageSets/Segmentation/val.txt', pipeline=test_pipeline))
val_dataloader = None
val_cfg = None
val_evaluator = None

train_cfg = dict(max_iters=8, val_interval=8)
# the tiny PSPNet's recipe: heads at 10x the backbone's lr, constant after a 2-iteration warm-up
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.0),
                                                     'auxiliary_head': dict(lr_mult=10.0)}))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=-1, save_last=False))
auto_scale_lr = dict(enable=False, base_batch_size=4)
