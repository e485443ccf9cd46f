# The tiny source of conditional pre-training (configs/experiments/conditional_tiny.py): the
# embedded shapes (1200 images rendered at 48 px, 8 classes, only the "easy" kind: a subset of
# 300 images is learnt in 30 epochs, the default mix's noisy ones are not) where circle, triangle,
# square and cross (classes 0-3) are drawn in warm hues (0-50°) and the other four in any colour.
# The generated target draws only those four shapes, warm: a domain a selection method can find
# by colour, and whose classes are the part of the source that transfers. `render_size` stays
# 48, so `data.image_size=24` is the low-resolution run on the same source (and subset files).
# 30 epochs of batch 16 over a 25% subset: 9000 sample-steps (the i.i.d. run: 36000).
arch = "resnet18"
data = dict(type="synthetic", num_train=1200, num_val=80, image_size=48, render_size=48, data_seed=0,
            shape_mix=(1.0, 0.0, 0.0),
            hues={0: (0, 50), 1: (0, 50), 2: (0, 50), 3: (0, 50)})
arm = dict(name="iid")
train = dict(epochs=30, batch_size=16, lr=0.02, momentum=0.9, weight_decay=5e-4,
             milestones=[22, 27], gamma=0.1, warmup_epochs=1, workers=0)
seed = 0
val_interval = 30
log_interval = 10
