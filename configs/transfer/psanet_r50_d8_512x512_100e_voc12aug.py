# PSANet R50, dilated to output stride 8, on Pascal VOC 2012 (aug), conditional pre-training's
# segmentation protocol (Chakraborty et al.): batch 16, lr 0.01, SGD, 100 epochs of the 10582
# train_aug images (66138 iterations), 512x512 crops; mIoU, mAcc, aAcc on VOC 2012 val.
# Task `psanet_voc`. mmseg 1.2.2's configs/psanet/psanet_r50-d8_4xb4-20k_voc12aug-512x512.py
# (models/psanet_r50-d8.py, datasets/pascal_voc12_aug.py) made flat, with the paper's
# schedule (mmseg: 20k iterations of batch 16) and, as in the pspnet task:
#   - backbone: mmseg's plain-stem `ResNet` instead of `ResNetV1c` (whose deep stem a
#     torchvision-layout export cannot fill); dilation and output stride 8 unchanged;
#   - init: the stage-1 export (or None for random init) instead of open-mmlab://resnet50_v1c;
#   - the per-class IoU table is kept (PerClassIoUMetric = mmseg's IoUMetric + its table).
# PSANet's point-wise attention is mmcv's compiled PSAMask op (CPU and CUDA kernels).
default_scope = 'mmseg'
custom_imports = dict(imports=['transfer.seg_metric'], allow_failed_imports=False)

# ---------------------------------------------------------------- model
crop_size = (512, 512)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=crop_size)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',  # plain stem (deep_stem=False), see the header
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        deep_stem=False,
        contract_dilation=True,
        norm_cfg=norm_cfg,
        norm_eval=False,
        frozen_stages=-1,
        style='pytorch',
        init_cfg=None),  # transfer/build.py: Pretrained(stage-1 export) or None (random init)
    decode_head=dict(
        type='PSAHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        mask_size=(66, 66),  # 512 px crops at output stride 8: 64x64 features (+2, as mmseg's 512 configs)
        psa_type='bi-direction',
        compact=False,
        shrink_factor=2,
        normalization_factor=1.0,
        psa_softmax=True,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# ---------------------------------------------------------------- data (VOCdevkit/VOC2012)
dataset_type = 'PascalVOCDataset'  # JPEGImages/*.jpg + SegmentationClass[Aug]/*.png
data_root = 'data/VOCdevkit/VOC2012/'  # or --data-root
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
# train_aug: mmseg's tools/dataset_converters/voc_aug.py writes the SBD-augmented masks to
# SegmentationClassAug and their list; mmseg concatenates VOC train (SegmentationClass) with
# aug.txt (SegmentationClassAug) as here
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ConcatDataset',
        datasets=[
            dict(type=dataset_type, data_root=data_root, img_suffix='.jpg', seg_map_suffix='.png',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train.txt', pipeline=train_pipeline),
            dict(type=dataset_type, data_root=data_root, img_suffix='.jpg', seg_map_suffix='.png',
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClassAug'),
                 ann_file='ImageSets/Segmentation/aug.txt', pipeline=train_pipeline),
        ]))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type, data_root=data_root, img_suffix='.jpg', seg_map_suffix='.png',
        data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
        ann_file='ImageSets/Segmentation/val.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])  # aAcc, mIoU, mAcc
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule: 100 epochs
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=66138, by_epoch=False),
]
# lr 0.01 is for 4 GPUs x 4 crops = 16 per step; `--auto-scale-lr` rescales it to the run's batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=66138, val_interval=6614)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ---------------------------------------------------------------- runtime
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=6614),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'))  # transfer/build.py switches to gloo on CPU
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
