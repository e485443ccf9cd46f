# CPU smoke run of `fpn_gn`: Faster R-CNN R18-FPN with GroupNorm everywhere and nothing frozen,
# 1x = 9 iterations of batch 2 at <=256x192 px on the 4-image COCO sample (../shared/data/
# coco_sample, one class: person), then a test with mmdet's CocoMetric. The paper's
# 1x in miniature: lr x0.1 at 6 and 8 of 9 iterations (60k and 80k of 90k); `--schedule 3x`
# gives 27 iterations [21, 25], `6x` 54 [48, 52] (transfer/schedule.py). Fine-tunes a stage-1
# export pretrained with norm="gn" (configs/pretrain/resnet18_shapes_tiny_iid_gn.py) or none.
# Task `fpn_gn_tiny` (transfer/tasks.py).
_base_ = './faster_rcnn_r50_fpn_gn_90k_coco.py'

data_root = '{{ fileDirname }}/../../../shared/data/coco_sample/'  # or --data-root
ann_file = 'person_keypoints.json'  # COCO format, also holds boxes: train and test on it
metainfo = dict(classes=('person', ), palette=[(220, 20, 60)])

# --data-root DIR reads DIR in the COCO 2017 layout instead of the sample's file names
# (transfer/data.py set_data_root): person annotations per split, images in {split}2017/.
data_root_layout = dict(
    train=dict(ann_file='annotations/person_keypoints_train2017.json',
               data_prefix=dict(img='train2017/')),
    test=dict(ann_file='annotations/person_keypoints_val2017.json',
              data_prefix=dict(img='val2017/')))

model = dict(
    backbone=dict(depth=18),  # stage-1 demo backbones are resnet18
    # FPN and heads 64 wide instead of 256 (GN's 32 groups still divide it): the GN heads'
    # 4 convs per RoI at 256 channels made one CPU iteration take 13 s.
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),  # in: ResNet-18 stage widths
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, conv_out_channels=64, fc_out_channels=256, num_classes=1)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200),
                   rcnn=dict(sampler=dict(num=128))),  # RoIs per image: a few persons each
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=200),
        # After 4 iterations every person score can sit below mmdet's 0.05; CocoMetric then
        # sees an empty result and reports nothing. Keep all boxes.
        rcnn=dict(score_thr=0.0, max_per_img=30)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(256, 192), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(256, 192), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
sample_dataset = dict(data_root=data_root, ann_file=ann_file, data_prefix=dict(img='images/'),
                      metainfo=metainfo)
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # iterations outnumber the images
    dataset=dict(**sample_dataset, pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(**sample_dataset, pipeline=test_pipeline))
test_evaluator = dict(ann_file=data_root + ann_file)
# No validation during training: run_transfer tests once at the end.
val_dataloader = None
val_cfg = None
val_evaluator = None

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=9)
# lr 0.02 x 2/16 images per step (linear scaling) after a 2-iteration warm-up, x0.1 at 6 and 8
optim_wrapper = dict(optimizer=dict(lr=0.0025))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='MultiStepLR', begin=0, end=9, by_epoch=False, milestones=[6, 8], gamma=0.1),
]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=-1, save_last=False))  # nothing worth keeping
log_processor = dict(by_epoch=False)
# The tiny recipe's lr is set for its own batch (2 per step on one process).
auto_scale_lr = dict(enable=False, base_batch_size=2)
