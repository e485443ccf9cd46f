# MoCo v2 + DaR on the tiny preset: the DaR rule of resnet18_shapes_tiny_dar.py (W=2, I=1,
# p=0.8, α=3, R={5}; cost 81.6% of i.i.d. MoCo v2), ranking samples by their InfoNCE loss.
_base_ = "./resnet18_shapes_tiny_moco_v2.py"
arm = dict(name="dar", warmup=2, interval=1, keep=0.8, active=3, refresh=[5], accumulate="last")
