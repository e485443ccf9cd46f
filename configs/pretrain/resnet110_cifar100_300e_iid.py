# ResNet-110 on CIFAR-100: 300 epochs, lr 0.1 ÷10 at 150 and 225, pad-4 crop + flip,
# channel mean/std normalization, batch 128, weight decay 1e-4 (He et al.'s recipe).
arch = "resnet110_cifar"
data = dict(type="cifar100", root="data/cifar", image_size=32)  # torchvision's cifar-100-python under root
arm = dict(name="iid")
train = dict(epochs=300, batch_size=128, lr=0.1, momentum=0.9, weight_decay=1e-4,
             milestones=[150, 225], gamma=0.1, workers=4)
seed = 0
val_interval = 10
