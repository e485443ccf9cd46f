# Faster R-CNN R50-C4 on Pascal VOC, conditional pre-training's detection protocol
# (Chakraborty et al., after MoCo's detection/configs/pascal_voc_R_50_C4_24k_moco.yaml):
# 24k iterations of batch 16, lr 0.02 ×0.1 at 18k and 22k, 100-iteration warm-up, training
# scales 480-800 (short side), test 800; train on VOC2007 trainval, test on VOC2007 test;
# VOC AP50 plus COCO-style AP (mean over IoU 0.50:0.95) and AP75. Task `faster_rcnn_c4_voc`.
# mmdet 3.3.0's C4 model (configs/_base_/models/faster-rcnn_r50-caffe-c4.py) with MoCo's
# protocol instead of mmdet's caffe one:
#   - C4: the backbone is the ResNet up to layer3 (stride 16), the RoI head's shared head is
#     mmdet's `ResLayer` (stage 3 = res5): its tensors are named `layer4.*`, exactly the
#     torchvision keys of the export's layer4, so transfer/build.py loads res5 from the export's
#     layer4 (its own Pretrained init_cfg) and checks every tensor of both parts;
#   - style 'pytorch' (stride in the 3x3 conv: MoCo's STRIDE_IN_1X1 False, torchvision's layout);
#   - BN: MoCo trains BN everywhere (naiveSyncBN, FREEZE_AT 0): SyncBN, norm_eval False,
#     nothing frozen (transfer/build.py makes SyncBN plain BN on one process or CPU);
#   - ImageNet pixel statistics in RGB (MoCo's PIXEL_MEAN/STD, FORMAT RGB);
#   - not reproduced: detectron2's Res5ROIHeadsExtraNorm (an extra BN after res5) and precise-BN
#     at test time, which mmdet does not have.
# Chakraborty et al. fine-tune on VOC2007 trainval; MoCo's own protocol adds VOC2012 trainval
# (a ConcatDataset of both, by --cfg-options).
default_scope = 'mmdet'

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='FasterRCNN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None),  # transfer/build.py: Pretrained(stage-1 export) or None (random init)
    rpn_head=dict(
        type='RPNHead',
        in_channels=1024,
        feat_channels=1024,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[2, 4, 8, 16, 32],
            ratios=[0.5, 1.0, 2.0],
            strides=[16]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='StandardRoIHead',
        shared_head=dict(
            type='ResLayer',
            depth=50,
            stage=3,
            stride=2,
            dilation=1,
            style='pytorch',
            norm_cfg=norm_cfg,
            norm_eval=False,
            init_cfg=None),  # transfer/build.py: Pretrained(the export: its layer4.*) or None
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(type='RoIAlign', output_size=14, sampling_ratio=0),
            out_channels=1024,
            featmap_strides=[16]),
        bbox_head=dict(
            type='BBoxHead',
            with_avg_pool=True,
            roi_feat_size=7,
            in_channels=2048,
            num_classes=20,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.3, min_pos_iou=0.3,
                          match_low_quality=True, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=256, pos_fraction=0.5, neg_pos_ub=-1,
                         add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(nms_pre=12000, max_per_img=2000, nms=dict(type='nms', iou_threshold=0.7),
                          min_bbox_size=0),
        rcnn=dict(
            assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0.5,
                          match_low_quality=False, ignore_iof_thr=-1),
            sampler=dict(type='RandomSampler', num=512, pos_fraction=0.25, neg_pos_ub=-1,
                         add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rpn=dict(nms_pre=6000, max_per_img=1000, nms=dict(type='nms', iou_threshold=0.7), min_bbox_size=0),
        rcnn=dict(score_thr=0.05, nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)))

# ---------------------------------------------------------------- data (VOCdevkit layout)
dataset_type = 'VOCDataset'
data_root = 'data/VOCdevkit/'  # or --data-root
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # short side one of 480..800 (step 32), long side at most 1333 (detectron2's MIN_SIZE_TRAIN)
    dict(type='RandomChoiceResize', scales=[(1333, s) for s in range(480, 801, 32)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/trainval.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32, bbox_min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='VOC2007/ImageSets/Main/test.txt',
        data_prefix=dict(sub_data_root='VOC2007/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
# VOC AP (VOC2007's 11-point interpolation, as detectron2's VOC evaluator for 2007) at the
# ten COCO IoU thresholds: pascal_voc/AP50, pascal_voc/AP75, and their mean pascal_voc/mAP,
# the paper's "AP" (fractions, as mmdet reports them)
val_evaluator = dict(type='VOCMetric', metric='mAP', eval_mode='11points',
                     iou_thrs=[0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule: 24k iterations
train_cfg = dict(type='IterBasedTrainLoop', max_iters=24000, val_interval=24000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=24000, by_epoch=False, milestones=[18000, 22000], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001))
# lr 0.02 is for 16 images per step (8 GPUs x 2); `--auto-scale-lr` rescales it.
auto_scale_lr = dict(enable=False, base_batch_size=16)

# ---------------------------------------------------------------- runtime
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=2000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='DetVisualizationHook'))
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))  # transfer/build.py switches to gloo on CPU
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
