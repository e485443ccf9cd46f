# CPU smoke run of `simplebaseline`: SimpleBaseline R18, 128x96 input, 4 iterations of batch 16
# on the person instances of the 4-image COCO sample (../shared/data/coco_sample), then a test
# on the same images with mmpose's CocoMetric (xtcocotools OKS). The sample has no detector
# output, so the test uses the ground-truth person boxes (bbox_file=None). Same dataset,
# model code and metric as the paper-scale run; sizes and schedule shrink.
# Task `simplebaseline_tiny` (transfer/tasks.py).
_base_ = './simplebaseline_r101_256x192_210e_coco.py'

data_root = '{{ fileDirname }}/../../../shared/data/coco_sample/'  # or --data-root
ann_file = 'person_keypoints.json'
codec = dict(type='MSRAHeatmap', input_size=(96, 128), heatmap_size=(24, 32), sigma=2)

# --data-root DIR reads DIR in the COCO 2017 layout instead of the sample's file names
# (transfer/data.py set_data_root): person annotations per split, images in {split}2017/.
data_root_layout = dict(
    train=dict(ann_file='annotations/person_keypoints_train2017.json',
               data_prefix=dict(img='train2017/')),
    test=dict(ann_file='annotations/person_keypoints_val2017.json',
              data_prefix=dict(img='val2017/')))

model = dict(
    backbone=dict(depth=18),  # stage-1 demo backbones are resnet18
    head=dict(in_channels=512, deconv_out_channels=(64, 64, 64), decoder=codec))

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    # No rotation: the demo scenes' keypoints are extreme points in fixed image directions
    # (transfer/synthetic.py), which a rotated crop would mislabel; no half-body crops either.
    dict(type='RandomBBoxTransform', rotate_prob=0.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),  # iterations outnumber the images
    dataset=dict(data_root=data_root, ann_file=ann_file, data_prefix=dict(img='images/'),
                 pipeline=train_pipeline))
test_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, ann_file=ann_file, data_prefix=dict(img='images/'),
                 bbox_file=None, pipeline=val_pipeline))
test_evaluator = dict(ann_file=data_root + ann_file)
# No validation during training: run_transfer tests once at the end.
val_dataloader = None
val_cfg = None
val_evaluator = None

train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=4)
# Adam lr 1e-3 for 16 instances per step (the paper: 5e-4 for 512 over 210 epochs): a short
# schedule (the demo's 150 iterations) needs the larger step; constant after a 2-iteration warm-up
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)]
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(by_epoch=False, interval=-1, save_last=False, save_best=None))
log_processor = dict(by_epoch=False)
# The tiny recipe's lr is set for its own batch (16 per step on one process).
auto_scale_lr = dict(enable=False, base_batch_size=16)
