# CPU variant of `finegrained_linear`: ResNet-18, 48 px, a generated target (--data-root),
# 30 epochs of batch 32 on its frozen features. Task `finegrained_linear_tiny`.
_base_ = './finegrained_r34_linear_224.py'
arch = 'resnet18'
data_root = 'data/finegrained_tiny/'
image_size = 48
train = dict(epochs=30, batch_size=32, lr=0.1, milestones=[20], workers=0)
