# Tiny CPU preset on the embedded synthetic shapes (pretrain/synthetic.py): 2400 train /
# 400 val images of 48 px, 8 classes; ResNet-18 (torchvision layout, exported for stage 2).
# 48 px, not 32: the ImageNet stem downsamples 4x at once, and at 32 px too little shape is
# left to learn from a few thousand images in minutes.
arch = "resnet18"
data = dict(type="synthetic", num_train=2400, num_val=400, image_size=48, data_seed=0)
arm = dict(name="iid")
train = dict(epochs=10, batch_size=64, lr=0.02, momentum=0.9, weight_decay=5e-4,
             milestones=[7, 9], gamma=0.1, warmup_epochs=1, workers=0)
seed = 0
val_interval = 5
log_interval = 10
