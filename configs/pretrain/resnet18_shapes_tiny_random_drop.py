# Equal-cost control of resnet18_shapes_tiny_dar.py: DaR's exact schedule (W=2, I=1, p=0.8,
# α=3, R={5}: the same subset sizes, cost 81.6%), but each drop keeps a uniformly random part of
# the current subset instead of the hardest. Does hardness matter?
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="random_drop", warmup=2, interval=1, keep=0.8, active=3, refresh=[5], accumulate="last")
