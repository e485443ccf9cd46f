# Fine-grained classification transfer (Chakraborty et al.'s targets: Stanford Cars, Caltech
# Birds, fMoW), full fine-tuning: a torchvision ResNet-34 with the stage-1 backbone and a new
# classifier, every layer trained, 90 epochs of SGD lr 0.01 ÷10 every 30 (the paper's pretraining
# schedule; its fine-tuning lr differs per target: conditional_pretraining.py sets it per target,
# `train.optimizer='adam'` for fMoW),
# 224 px random-resized crops + flip, evaluated on 256 → 224 centre crops (top-1 / top-5).
# Data: data_root/train/<class>/*, data_root/val/<class>/* (or --data-root).
# Task `finegrained_finetune` (transfer/tasks.py); run by transfer/classification.py.
default_scope = 'torchvision'  # a plain torchvision loop, no OpenMMLab toolbox
arch = 'resnet34'
mode = 'finetune'  # every layer trains; 'linear' trains the classifier only
data_root = 'data/stanford_cars/'
image_size = 224
mean = [123.675, 116.28, 103.53]  # ImageNet's, 0-255 scale, as every transfer task
std = [58.395, 57.12, 57.375]
train = dict(epochs=90, batch_size=64, lr=0.01, momentum=0.9, weight_decay=1e-4, milestones=[30, 60],
             gamma=0.1, workers=8, optimizer='sgd')
