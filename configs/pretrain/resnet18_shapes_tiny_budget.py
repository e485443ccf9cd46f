# Equal-cost control of resnet18_shapes_tiny_dar.py: i.i.d. training at DaR's cost (81.6%):
# 8.16 of the 10 epochs (8 full, then 16% of the set), the lr schedule compressed into them
# (warm-up 0.816 epochs, drops at 5.7 and 7.3 epochs). Is DaR more than less compute?
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="budget", budget=0.816)
