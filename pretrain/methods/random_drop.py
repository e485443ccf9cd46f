"""random_drop: DaR's exact schedule, but the kept samples are drawn uniformly at random.

The equal-cost control that asks whether *hardness* matters: the same W, I, p, α, R, hence
the same subset size every epoch and the same cost as the DaR arm it controls; a drop keeps a
uniformly random subset of the current one (a generator seeded by (seed, epoch)) instead of
the hardest.
"""

from __future__ import annotations

import numpy as np

from common.vocab import UNRANKED
from pretrain.loss_table import LossTable
from pretrain.methods.base import Method
from pretrain.methods.dar import DAR_KEYS, DropAndRefresh


class RandomDrop(DropAndRefresh):
    name = "random_drop"
    label = "random drop"
    order = UNRANKED  # not DaR's: tabled mostly as a control, right after the arm it controls

    def keep_at_drop(self, epoch: int, table: LossTable, keep: int) -> np.ndarray:
        return np.sort(self.rng(epoch, 0xD0).choice(self.subset, size=keep, replace=False))

    @classmethod
    def control_for(cls, arm: dict, method: Method) -> dict:
        if not isinstance(method, DropAndRefresh):
            raise ValueError(f"random_drop controls a drop-and-refresh arm (dar, dap), not {arm['name']!r}")
        return {"name": cls.name, **{k: method.params[k] for k in DAR_KEYS}}
