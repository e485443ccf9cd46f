"""selective_backprop: every sample is forwarded, a loss-dependent part is back-propagated
(Jiang et al. 2019, as Arazo et al., BMVC 2021, run it: EricArazo/ImportanceSampling,
SelectiveBackprop/lib).

As that code does: each batch is first scored by a forward pass without gradient in eval mode;
its losses join a history of the last `history` (1024) losses, and a sample is back-propagated
with probability (its loss's percentile in that history)^beta (beta = 3, the code's
`SB_sensitivity`), drawn against a uniform number; the first epoch back-propagates everything
(the code's PrimedSelector; here without a scoring pass, as nothing is chosen); the chosen
samples are not re-weighted. Under `arm.budget` it trains, like
the `budget` method, budget·E epochs with the whole LR schedule compressed into them; its cost
(every forward at 1/3 of a step, the scoring pass included, and the back-propagated part at
2/3) is measured: per scored epoch 1/3 + (chosen share), below 1 unless most samples are
chosen (with beta 3, about a quarter are), so the run stays under its budget.

Differences from that code: the code queues chosen samples until a full batch of them is
gathered and steps on their mean loss; here each batch steps at once on its chosen samples (at
least two, BatchNorm needs them), their losses summed and divided by the batch size, so that
each chosen sample weighs 1/B in a step as in the code and an epoch moves the weights as far;
steps are smaller and more frequent (BatchNorm sees batches of the chosen samples only, as in
the code). The code ignores its budget for this method
(every run forwards all epochs); here the budget sets the epochs. Draws come from a generator
seeded by (seed, epoch); under DDP each process keeps the history of its own shard, and a
resumed run continues with rank 0's.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import torch

from pretrain.loss_table import LossTable
from pretrain.methods.base import EpochPlan
from pretrain.methods.budget import Budget


class SelectiveBackprop(Budget):
    name = "selective_backprop"
    label = "selective backprop"
    order = 90
    defaults = {"budget": 1.0, "beta": 3.0, "history": 1024}
    in_batch = True

    def configure(self) -> None:
        super().configure()
        if not self.params["beta"] > 0:
            raise ValueError(f"arm.beta must be > 0, got {self.params['beta']!r}")
        if not isinstance(self.params["history"], int) or self.params["history"] < 1:
            raise ValueError(f"arm.history must be a positive int, got {self.params['history']!r}")
        self.losses = deque(maxlen=self.params["history"])
        self._begin(1)

    def _begin(self, epoch: int) -> None:
        self.epoch = epoch
        self._draws = self.rng(epoch, 0x5B)

    def start(self) -> EpochPlan:
        self._begin(1)
        return super().start()

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan | None:
        self._begin(epoch + 1)
        return super().end_epoch(epoch, table)

    def scoring_now(self) -> bool:
        return self.epoch > 1  # primed: the first epoch trains on everything, without scoring it

    def select_in_batch(self, indices: torch.Tensor, losses: torch.Tensor) -> torch.Tensor:
        batch = torch.nan_to_num(losses.detach().double().cpu(), nan=float("inf")).numpy()
        self.losses.extend(batch.tolist())  # the whole batch joins the history first, as in the code
        history = np.sort(np.asarray(self.losses))
        percentile = np.searchsorted(history, batch, side="left") / history.size  # share strictly below
        chosen = self._draws.uniform(size=batch.size) < percentile ** self.params["beta"]
        return torch.from_numpy(chosen)

    def plan(self) -> None:
        return None  # how many samples are back-propagated depends on the losses

    def state_dict(self) -> dict:
        return {"losses": list(self.losses), "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.losses = deque(state["losses"], maxlen=self.params["history"])
        self._begin(int(state["epoch"]))
