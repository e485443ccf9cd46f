# Tiny CPU preset on the embedded synthetic shapes (pretrain/synthetic.py): 2000 train /
# 400 val images of 32 px, 8 classes; ResNet-18 (torchvision layout, exported for stage 2).
arch = "resnet18"
data = dict(type="synthetic", num_train=2000, num_val=400, image_size=32, data_seed=0)
arm = dict(name="iid")
train = dict(epochs=12, batch_size=64, lr=0.05, momentum=0.9, weight_decay=5e-4,
             milestones=[8, 11], gamma=0.1, workers=0)
seed = 0
val_interval = 4
log_interval = 10
