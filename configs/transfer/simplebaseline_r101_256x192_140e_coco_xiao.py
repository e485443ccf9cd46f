# SimpleBaseline ResNet-101 256x192 on COCO keypoints as Xiao et al. (ECCV 2018) trained it, the
# recipe the DaR paper says it follows ("the same implementation as"): their public
# experiments/coco/resnet101/256x192_d256x3_adam_lr1e-3.yaml. Task `simplebaseline_xiao`; mmpose's
# own 210-epoch recipe stays task `simplebaseline` (the base of this file). Changes from it:
#   - 140 epochs, Adam lr 1e-3 without weight decay, lr x0.1 after epochs 90 and 120, no warm-up;
#   - 4 GPUs x 32 images = 128 per step (auto_scale_lr.base_batch_size);
#   - augmentation: flip, scale ±30%, rotation ±40° (with probability 0.6), no shift and no
#     half-body (half-body came later, with HRNet's code).
# Departures the toolbox forces: mmpose's RandomBBoxTransform draws scale and rotation from a
# standard normal truncated to ±1σ and scaled (σ = 0.3 and 40° here), Xiao et al.'s code clips a
# normal of the same σ at ±1σ (scale) and ±2σ (rotation, ±80°); the deconvolution head, the
# MSRA heatmaps (σ = 2), flip test with shifted heatmaps and the person boxes of the 56-AP
# detector are the same as theirs.
_base_ = './simplebaseline_r101_256x192_210e_coco.py'

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', shift_prob=0.0, scale_factor=(0.7, 1.3), rotate_factor=40.0,
         rotate_prob=0.6),
    dict(type='TopdownAffine', input_size=(192, 256)),
    dict(type='GenerateTarget', encoder=dict(type='MSRAHeatmap', input_size=(192, 256),
                                             heatmap_size=(48, 64), sigma=2)),
    dict(type='PackPoseInputs'),
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))

train_cfg = dict(max_epochs=140)
optim_wrapper = dict(optimizer=dict(type='Adam', lr=1e-3, weight_decay=0.0))
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=140, milestones=[90, 120], gamma=0.1, by_epoch=True),
]
auto_scale_lr = dict(base_batch_size=128)
