"""Drop-and-Pick (DaP), the earlier version's name: the DaR rule. No separate hyperparameters
are published; its preset (configs/pretrain/resnet50_imagenet_120e_dap.py) picks all samples up
again at the lr drops (R = {30, 60, 90}, the abstract's "picking up all samples periodically"),
with DaR's W, I, p, α."""

from __future__ import annotations

from pretrain.methods.dar import DropAndRefresh


class DropAndPick(DropAndRefresh):
    name = "dap"
    label = "DaP"
    order = 30
