# ResNet-10 on ImageNet-LT (its published split lists over an ImageNet root); evaluation
# reports many (>100 train images), medium and few (<20) shot top-1.
arch = "resnet10"
data = dict(type="imagenet_lt", root="data/imagenet", image_size=224,
            train_list="data/imagenet_lt/ImageNet_LT_train.txt", val_list="data/imagenet_lt/ImageNet_LT_test.txt")
arm = dict(name="iid")
train = dict(epochs=90, batch_size=256, lr=0.1, momentum=0.9, weight_decay=5e-4,
             milestones=[30, 60], gamma=0.1, workers=8)
seed = 0
val_interval = 10
