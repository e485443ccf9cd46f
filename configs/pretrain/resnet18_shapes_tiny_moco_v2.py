# MoCo v2 (pretrain/moco.py) on the tiny CPU preset's shapes: the same 2400 train / 400 val
# images of 48 px and ResNet-18 as resnet18_shapes_tiny_iid.py, trained without labels (the
# validation's kNN monitor uses them). MoCo v2's recipe scaled to minutes: the MLP head, dim 128,
# temperature 0.2, SGD with a cosine schedule; a queue of 1024 keys (16 batches, under half an
# epoch: K 65536 would be 27 epochs of this set) and key momentum 0.99 (0.999 moves the key
# encoder too slowly for 380 steps). It does not learn shape features in 10 epochs, with or
# without objective.head_bn (docs/results.md, MoCo v2 at CPU scale).
arch = "resnet18"
data = dict(type="synthetic", num_train=2400, num_val=400, image_size=48, data_seed=0)
objective = dict(name="moco_v2", dim=128, queue_size=1024, momentum=0.99, temperature=0.2, mlp=True,
                 shuffle_bn=True)
arm = dict(name="iid")
train = dict(epochs=10, batch_size=64, lr=0.06, momentum=0.9, weight_decay=5e-4, lr_schedule="cosine",
             workers=0)
seed = 0
val_interval = 5
log_interval = 10
