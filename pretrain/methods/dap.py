"""Drop-and-Pick (DaP), the earlier version's name: the DaR rule; its preset has no refresh
(no separate hyperparameters are published)."""

from __future__ import annotations

from pretrain.methods.dar import DropAndRefresh


class DropAndPick(DropAndRefresh):
    name = "dap"
