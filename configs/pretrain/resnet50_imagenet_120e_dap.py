# Drop-and-Pick (DaP), the earlier version's name for the method. It publishes no separate
# hyperparameters; this preset is the same rule without refreshes (drop and pick only),
# which is what the name describes. Cost: see `python tools/schedule.py` on this file.
_base_ = "./resnet50_imagenet_120e_iid.py"
arm = dict(name="dap", warmup=10, interval=2, keep=0.9, active=10, refresh=[], accumulate="mean")
