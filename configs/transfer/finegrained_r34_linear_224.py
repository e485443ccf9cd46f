# Fine-grained classification, linear probe: the stage-1 backbone frozen (BatchNorm in eval
# mode, no gradient), only a new linear classifier on its pooled features trains: 90 epochs of
# SGD lr 0.1 ÷10 every 30, no weight decay; the backbone is checked to be unchanged after
# training (MoCo's sanity check). Same data, crops and evaluation as `finegrained_finetune`.
# Task `finegrained_linear` (transfer/tasks.py); run by transfer/classification.py.
default_scope = 'torchvision'
arch = 'resnet34'
mode = 'linear'
data_root = 'data/stanford_cars/'
image_size = 224
mean = [123.675, 116.28, 103.53]
std = [58.395, 57.12, 57.375]
train = dict(epochs=90, batch_size=64, lr=0.1, momentum=0.9, weight_decay=0.0, milestones=[30, 60],
             gamma=0.1, workers=8)
