# Drop-and-Pick (DaP), the earlier version's name for the method: its abstract says "picking up
# all samples periodically", so the samples are picked up again at the lr drops (R = {30, 60,
# 90}); it publishes no separate hyperparameters, so W, I, p, α are DaR's and the schedule is
# DaR's: cost 73.9% (`python tools/schedule.py` on this file; the abstract reports 75%).
_base_ = "./resnet50_imagenet_120e_iid.py"
arm = dict(name="dap", warmup=10, interval=2, keep=0.9, active=10, refresh=[30, 60, 90], accumulate="last")
