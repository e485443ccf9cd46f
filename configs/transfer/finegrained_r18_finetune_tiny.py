# CPU variant of `finegrained_finetune`: ResNet-18 (the tiny stage-1 arch), 48 px crops of a
# generated fine-grained target (pretrain/synthetic.py write_shapes_folder; --data-root), 6
# epochs of batch 32. Task `finegrained_finetune_tiny`.
_base_ = './finegrained_r34_finetune_224.py'
arch = 'resnet18'
data_root = 'data/finegrained_tiny/'
image_size = 48
train = dict(epochs=6, batch_size=32, lr=0.01, milestones=[4], workers=0)
