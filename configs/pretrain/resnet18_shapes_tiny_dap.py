# DaP on the tiny preset: the DaR rule, all samples picked up again at the lr drops (7, 9).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="dap", warmup=2, interval=1, keep=0.8, active=3, refresh=[7, 9], accumulate="last")
