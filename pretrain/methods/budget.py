"""budget: i.i.d. training for a fraction of the epochs, the whole LR schedule compressed into it.

The budgeted-training protocol of Arazo et al. (BMVC 2021, after Li et al., ICLR 2020): a run
may make `budget` × (the configured epochs × N) sample-forwards; it trains full i.i.d. epochs
and a last, partial one on a uniformly random part of the set (a generator seeded by
(seed, epoch)), and its learning-rate schedule ends where the budget ends: a step schedule's
milestones and the warm-up are scaled by the budget, a linear schedule decays to zero at its
last iteration (pretrain.trainer.lr_schedulers). Cost = budget (up to the rounding to whole
samples and batches).

As an equal-cost control of another arm it takes that arm's planned cost as its budget
(`control_for`), which needs a method whose cost is known before the run.
"""

from __future__ import annotations

import math

from pretrain.loss_table import LossTable
from pretrain.methods.base import EpochPlan, Method, check_fraction
from pretrain.schedule import Plan


class Budget(Method):
    name = "budget"
    label = "budget"
    order = 50
    defaults = {"budget": 1.0}

    def configure(self) -> None:
        check_fraction("arm.budget", self.params["budget"])
        self.schedule_fraction = float(self.params["budget"])

    def _epochs_exact(self) -> float:
        return self.schedule_fraction * self.epochs

    def train_epochs(self) -> int:
        return max(1, math.ceil(self._epochs_exact() - 1e-9))

    def _size(self, epoch: int) -> int:
        """Samples trained in 1-based `epoch`: N, except the last partial epoch's remainder."""
        total = round(self._epochs_exact() * self.dataset_size)
        return max(1, min(self.dataset_size, total - (epoch - 1) * self.dataset_size))

    def _epoch_plan(self, epoch: int) -> EpochPlan:
        size = self._size(epoch)
        if size == self.dataset_size:
            return EpochPlan(self.all_indices)
        return EpochPlan(self.rng(epoch, 0xB0).choice(self.dataset_size, size=size, replace=False),
                         event="partial epoch")

    def start(self) -> EpochPlan:
        return self._epoch_plan(1)

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan | None:
        nxt = epoch + 1
        if nxt <= self.train_epochs() and self._size(nxt) != self._size(epoch):
            return self._epoch_plan(nxt)
        return None

    def plan(self) -> Plan:
        epochs = self.train_epochs()
        if self.dataset_size:
            sizes = [float(self._size(e)) for e in range(1, epochs + 1)]
        else:
            sizes = [1.0] * (epochs - 1) + [self._epochs_exact() - (epochs - 1)]
        events = [None] * epochs
        return Plan(dataset_size=self.dataset_size, sizes=sizes, events=events, reference_epochs=self.epochs)

    @classmethod
    def control_for(cls, arm: dict, method: Method) -> dict:
        plan = method.plan()
        if plan is None:
            raise ValueError(f"a budget control needs the cost of {arm['name']!r} before its run, but that "
                             "method's cost is only known after it; give the budget explicitly")
        return {"name": cls.name, "budget": round(plan.cost, 6)}
