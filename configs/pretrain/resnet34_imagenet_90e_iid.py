# ResNet-34 on ImageNet in Chakraborty et al.'s supervised conditional pre-training recipe: 90
# epochs, SGD lr 0.01 ÷10 every 30, random-resized crop + flip at 224, batch 256. The source of
# configs/experiments/conditional_pretraining.py: tools/select_subset.py chooses a subset of it
# for a target (data.subset), and `data.image_size=112` pretrains at low resolution (the crops
# resized bilinearly to 112 px; cost pixel-weighted: (112/224)² = 1/4 of a 224 px sample-step).
arch = "resnet34"
data = dict(type="imagenet", root="data/imagenet", image_size=224)  # root/train/<class>/*, root/val/<class>/*
arm = dict(name="iid")
train = dict(epochs=90, batch_size=256, lr=0.01, momentum=0.9, weight_decay=1e-4,
             milestones=[30, 60], gamma=0.1, workers=8)
seed = 0
val_interval = 5
log_interval = 100
