# ResNet-101 on ImageNet (the SimpleBaseline backbone), the ResNet-50 recipe: 120 epochs, lr ÷10
# every 30 epochs, random-resized crop (8-100% area, aspect 3/4-4/3) + flip at 224, batch 256,
# lr 0.1, weight decay 1e-4. i.i.d. (uniform) sampling: the baseline, cost 100%.
arch = "resnet101"
data = dict(type="imagenet", root="data/imagenet", image_size=224)  # root/train/<class>/*, root/val/<class>/*
arm = dict(name="iid")
train = dict(epochs=120, batch_size=256, lr=0.1, momentum=0.9, weight_decay=1e-4,
             milestones=[30, 60, 90], gamma=0.1, workers=8)
seed = 0
val_interval = 5
log_interval = 100
