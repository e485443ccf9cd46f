# PSPNet R50, dilated to output stride 8, on Cityscapes (fine annotations only), 769x769
# crops, 40k iterations. Task `pspnet` (transfer/tasks.py). A flat copy of mmseg 1.2.2's
# configs/pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-769x769.py with its bases (models/
# pspnet_r50-d8.py, datasets/cityscapes_769x769.py + cityscapes.py, default_runtime.py,
# schedules/schedule_40k.py). Changes from mmseg:
#   - backbone: mmseg's plain-stem `ResNet` instead of its default `ResNetV1c`. V1c replaces
#     the 7x7 stem by three 3x3 convs (`stem.*` keys) that a torchvision-layout stage-1 export
#     cannot fill, so every arm would start from a partly random stem. The plain stem keeps
#     the torchvision layout; the dilation (strides (1, 2, 1, 1), dilations (1, 1, 2, 4),
#     contract_dilation) is unchanged, so the output stride is still 8;
#   - init: the stage-1 export (or None for random init) instead of open-mmlab://resnet50_v1c;
#   - the per-class IoU table is kept (PerClassIoUMetric = mmseg's IoUMetric + its table);
#   - the visualizer has no fixed name, so consecutive runs in one process stay apart.
# Batch: 4 GPUs x 2 crops = 8, lr 0.01 (mmseg's reference setting). SyncBN across GPUs;
# transfer/build.py turns it into BN for a single process or CPU.
default_scope = 'mmseg'
custom_imports = dict(imports=['transfer.seg_metric'], allow_failed_imports=False)

# ---------------------------------------------------------------- model
crop_size = (769, 769)
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet pixel statistics (RGB, 0-255) for every arm: part of the task, not the arm.
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
        # mmseg's protocol: BN trained and updated everywhere, nothing frozen.
        norm_cfg=norm_cfg,
        norm_eval=False,
        frozen_stages=-1,
        style='pytorch',
        init_cfg=None),  # transfer/build.py: Pretrained(stage-1 export) or None (random init)
    decode_head=dict(
        type='PSPHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        pool_scales=(1, 2, 3, 6),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    train_cfg=dict(),
    # sliding 769x769 windows, stride 513, over the 2049x1025 test image
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(513, 513)))

# ---------------------------------------------------------------- data (Cityscapes layout)
dataset_type = 'CityscapesDataset'  # *_leftImg8bit.png + *_gtFine_labelTrainIds.png
data_root = 'data/cityscapes/'  # or --data-root
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2049, 1025), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2049, 1025), keep_ratio=True),
    # annotations load after Resize: the metric compares with full-resolution labels
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='PerClassIoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# ---------------------------------------------------------------- schedule: 40k iterations
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40000, by_epoch=False),
]
# lr 0.01 is for 4 GPUs x 2 crops = 8 per step; `--auto-scale-lr` rescales it to the run's batch.
auto_scale_lr = dict(enable=False, base_batch_size=8)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ---------------------------------------------------------------- runtime
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4000),
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
