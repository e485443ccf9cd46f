# CPU smoke run of `mask_rcnn`: Mask R-CNN R18-FPN, 4 iterations of batch 4 at <=128x128 px
# on the 4-image COCO sample (../shared/data/coco_sample, one class: person, polygon masks),
# then a test on the same images with mmdet's CocoMetric (boxes and masks). Same datasets,
# model code and metric as the paper-scale run; only the sizes and the schedule shrink.
# Task `mask_rcnn_tiny` (transfer/tasks.py).
_base_ = './mask_rcnn_r50_fpn_1x_coco.py'

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

# Heads at half width (FPN/RPN/RoI 128 channels, box FC 256): at 128 px the paper's 256-channel
# heads cost 5x the ResNet-18 they sit on; the backbone, which is what the arms differ in, is
# unchanged. 128 sampled RoIs per image (paper: 512) for scenes of 1-4 objects.
model = dict(
    backbone=dict(depth=18),  # stage-1 demo backbones are resnet18
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=128),  # ResNet-18 stage widths
    rpn_head=dict(in_channels=128, feat_channels=128),
    roi_head=dict(
        # mmcv's RoIAlign computed as two matrix products on CPU (transfer/roi_align.py): its
        # scalar CPU kernel took 37-42% of a training step here
        bbox_roi_extractor=dict(roi_layer=dict(type='MatmulRoIAlign'), out_channels=128),
        bbox_head=dict(num_classes=1, in_channels=128, fc_out_channels=256),
        mask_roi_extractor=dict(roi_layer=dict(type='MatmulRoIAlign'), out_channels=128),
        mask_head=dict(num_classes=1, in_channels=128, conv_out_channels=128)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200),
                   rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=200),
        # After 4 iterations every person score can sit below mmdet's 0.05; CocoMetric then
        # sees an empty result and reports nothing. Keep all boxes.
        rcnn=dict(score_thr=0.0)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
sample_dataset = dict(data_root=data_root, ann_file=ann_file, data_prefix=dict(img='images/'),
                      metainfo=metainfo)
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
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

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4)
# lr 0.01 for 4 images per step: twice the linear scaling of the paper's 0.02 per 16, which
# the demo's short schedules (60 iterations) need; constant after a 10-iteration warm-up from
# 0.001x (mmdet's warm-up, shortened). Gradients clipped at norm 10: the mask head's first
# logits on pretrained features are large (BCE ~6 where random init gives ~1), and without
# clipping lr 0.01 diverged to NaN by iteration 17 (measured); lr 0.005 unclipped learned
# a third as much in 60 iterations.
optim_wrapper = dict(optimizer=dict(lr=0.01), clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=10)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=-1, save_last=False))  # nothing worth keeping
log_processor = dict(by_epoch=False)
# The tiny recipe's lr is set for its own batch (4 per step on one process).
auto_scale_lr = dict(enable=False, base_batch_size=4)
