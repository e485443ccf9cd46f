# MoCo v2 ResNet-50 on ImageNet, the published 200-epoch recipe (Chen et al. 2020, "Improved
# Baselines with Momentum Contrastive Learning"; facebookresearch/moco main_moco.py with
# --mlp --moco-t 0.2 --aug-plus --cos): batch 256, lr 0.03, SGD momentum 0.9, weight decay 1e-4,
# cosine schedule over 200 epochs, no warm-up; dim 128, queue 65536, key momentum 0.999.
# MoCo v2's augmentation at 224 px (pretrain/moco.py). Conditional pre-training's MoCo runs
# take data.subset (a tools/select_subset.py file) and data.image_size=112.
arch = "resnet50"
data = dict(type="imagenet", root="data/imagenet", image_size=224)  # root/train/<class>/*, root/val/<class>/*
objective = dict(name="moco_v2", dim=128, queue_size=65536, momentum=0.999, temperature=0.2, mlp=True,
                 shuffle_bn=True)
arm = dict(name="iid")
train = dict(epochs=200, batch_size=256, lr=0.03, momentum=0.9, weight_decay=1e-4, lr_schedule="cosine",
             workers=8)
seed = 0
val_interval = 20  # the kNN monitor on the 50k validation images
log_interval = 100
