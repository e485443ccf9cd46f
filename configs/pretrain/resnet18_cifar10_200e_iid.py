# ResNet-18 (CIFAR stem) on CIFAR-10, the setting of Arazo et al.'s budgeted training (BMVC
# 2021, their public code): 200 epochs, batch 128, SGD lr 0.1, momentum 0.9, weight decay 1e-4,
# the lr decayed linearly to 0 over the run, no warm-up; pad-4 crop + flip. i.i.d. sampling: the
# full-budget reference, cost 100%. The budgeted presets beside it inherit this file.
arch = "resnet18_cifar"
data = dict(type="cifar10", root="data/cifar", image_size=32)  # torchvision's format under root
arm = dict(name="iid")
train = dict(epochs=200, batch_size=128, lr=0.1, momentum=0.9, weight_decay=1e-4, lr_schedule="linear",
             workers=4)
seed = 0
val_interval = 10
