# CPU variant of `finegrained_finetune`: ResNet-18 (the tiny stage-1 arch), 48 px crops of a
# generated fine-grained target (pretrain/synthetic.py write_shapes_folder; --data-root), 10
# epochs of batch 16. Task `finegrained_finetune_tiny`.
_base_ = './finegrained_r34_finetune_224.py'
arch = 'resnet18'
data_root = 'data/finegrained_tiny/'
image_size = 48
train = dict(epochs=10, batch_size=16, lr=0.01, milestones=[8], workers=0)
