"""Drop-and-Refresh (DaR): keep the hardest fraction of the current subset every I epochs,
back to the full set at each refresh epoch (the rule and its reading: pretrain/schedule.py).

Hardness is the per-sample training loss of the normal forward passes (no extra pass), the
mean over the interval since the last drop/refresh or the last epoch's (`accumulate`), summed
over ranks before ranking; ties break by index, never-seen samples rank last, a non-finite
loss ranks first (pretrain.loss_table).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from pretrain.loss_table import LossTable, select_hardest
from pretrain.methods.base import EpochPlan, Method
from pretrain.schedule import DROP, REFRESH, DaRParams, Plan, ScheduleState, end_of_epoch, num_kept, simulate

DAR_KEYS = tuple(f.name for f in dataclasses.fields(DaRParams))


class DropAndRefresh(Method):
    """DaR; subclasses change only which samples a drop keeps (`keep_at_drop`)."""

    name = "dar"
    label = "DaR"
    order = 20
    defaults = {f.name: f.default for f in dataclasses.fields(DaRParams)}

    def configure(self) -> None:
        self.rule = DaRParams(**{k: (tuple(v) if k == "refresh" else v) for k, v in self.params.items()})
        self.state = ScheduleState.initial(self.rule)
        self.subset = None  # current subset; set by start()

    def start(self) -> EpochPlan:
        self.subset = self.all_indices
        return EpochPlan(self.subset)

    def keep_at_drop(self, epoch: int, table: LossTable, keep: int) -> np.ndarray:
        """The `keep` samples of the current subset that survive a drop: the hardest."""
        return select_hardest(table.scores(self.rule.accumulate), self.subset, keep)

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan | None:
        event = end_of_epoch(self.rule, self.state, epoch)
        if event == DROP:
            self.subset = self.keep_at_drop(epoch, table, num_kept(self.rule.keep, self.subset.size))
        elif event == REFRESH:
            self.subset = self.all_indices
        else:
            return None
        table.reset_interval()
        return EpochPlan(self.subset, event=event)

    def plan(self) -> Plan:
        return simulate(self.rule, self.epochs, self.dataset_size)

    def state_dict(self) -> dict:
        return {"t_start": self.state.t_start, "t_prev": self.state.t_prev,
                "subset": None if self.subset is None else torch.from_numpy(self.subset.copy())}

    def load_state_dict(self, state: dict) -> None:
        self.state = ScheduleState(t_start=state["t_start"], t_prev=state["t_prev"])
        self.subset = None if state["subset"] is None else state["subset"].numpy().astype(np.int64)
