# DaR on the tiny preset: W=2, I=1, p=0.8, α=3, R={5} (a refresh at mid-run, as the paper's
# coincide with lr drops). Kept per epoch: 1, 1, 1, 0.8, 0.64 | 1, 0.8, 0.64, 0.64, 0.64
# -> cost 8.16 / 10 = 81.6% (`python tools/schedule.py` on this file).
_base_ = "./resnet18_shapes_tiny_iid.py"
arm = dict(name="dar", warmup=2, interval=1, keep=0.8, active=3, refresh=[5], accumulate="last")
