# CPU run of `faster_rcnn_c4_voc`: Faster R-CNN R18-C4 (res5 = the export's layer4) on the
# generated VOC scenes (transfer/synthetic.py make_voc_scenes, --data-root: the VOCdevkit root),
# 128 px, the eight shapes as classes; same dataset class, model code and VOCMetric as the
# paper-scale run. Task `faster_rcnn_c4_voc_tiny` (transfer/tasks.py).
_base_ = './faster_rcnn_r50_c4_24k_voc.py'

data_root = 'data/voc_scenes/'  # --data-root: a make_voc_scenes root (VOC2007/, VOC2012/)
metainfo = dict(classes=('circle', 'triangle', 'square', 'cross', 'star', 'hexagon', 'arrow', 'ell'))

# ResNet-18: layer3 gives 256 channels at stride 16, res5 (BasicBlocks) 512. Heads narrower to
# match (RPN 256 channels). In C4 every RoI runs res5 (layer4 on a 14x14 crop), which is nearly
# all of a step's compute: 32 sampled RoIs per image (scenes hold 1-4 objects; 8 positives at
# the 0.25 fraction) and 100 proposals per test image. Measured on 2 cores (Intel Xeon, AVX-512),
# one thread, two runs at once: 2.9 s per step of 4 images against 6.5 s at 128 RoIs with two
# threads (4.5x fewer core-seconds); at 128 RoIs a 60-iteration cell took 25-30 min on a busy machine.
model = dict(
    backbone=dict(depth=18),
    rpn_head=dict(in_channels=256, feat_channels=256,
                  anchor_generator=dict(scales=[1, 2, 4, 8])),  # objects of 10-60 px at 128 px
    roi_head=dict(
        shared_head=dict(depth=18),
        bbox_roi_extractor=dict(out_channels=256),
        bbox_head=dict(in_channels=512, num_classes=8)),
    train_cfg=dict(rpn_proposal=dict(nms_pre=500, max_per_img=200), rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=500, max_per_img=100),
                  # a short run's scores can sit below 0.05: keep every box for the metric
                  rcnn=dict(score_thr=0.0)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False, batch_sampler=None,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=train_pipeline,
                 filter_cfg=dict(filter_empty_gt=True, min_size=0, bbox_min_size=0)))
test_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, metainfo=metainfo, pipeline=test_pipeline))
# No validation during training: run_transfer tests once at the end.
val_dataloader = None
val_cfg = None
val_evaluator = None

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=8)
# lr 0.01 for 4 images per step, constant after a 4-iteration warm-up, gradients clipped (the
# tiny FPN recipe's, configs/transfer/faster_rcnn_r18_fpn_tiny_coco_sample.py)
optim_wrapper = dict(optimizer=dict(lr=0.01), clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=4)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=-1, save_last=False))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=4)
