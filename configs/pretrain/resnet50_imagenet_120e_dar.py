# DaR twin of the i.i.d. run: W=10, I=2, p=0.9, α=10, R={30,60,90} (the refreshes coincide
# with the lr drops). Kept fraction: 1 for epochs 1-12, then 0.9, 0.81, 0.729 (two epochs
# each) and 0.9^4 = 0.656 up to epoch 30; each refresh restarts this from the full set.
# `python tools/schedule.py` on this file: cost 73.9% of the i.i.d. sample-forwards (the
# paper reports 86% for this setting; see docs/pretraining.md, *Cost*, on the difference).
_base_ = "./resnet50_imagenet_120e_iid.py"
arm = dict(name="dar", warmup=10, interval=2, keep=0.9, active=10, refresh=[30, 60, 90], accumulate="last")
