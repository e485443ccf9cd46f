"""unif_sgd: every epoch a fresh uniform subset of budget·N samples (Arazo et al., BMVC 2021).

As the public code (EricArazo/ImportanceSampling, train.py `select_samples`) does: int(budget·N)
samples drawn without replacement, anew every epoch including the first, for all configured
epochs; the learning-rate schedule is compressed by the budget as for the `budget` method
(pretrain.trainer.lr_schedulers: Arazo's linear decay to 0 over the budgeted iterations with
`train.lr_schedule="linear"`, milestones scaled otherwise). Cost = int(budget·N)/N.

Differences from that code: draws come from a generator seeded by (seed, epoch), not the
global NumPy RNG; the last partial batch is kept (the code drops it, `drop_last=True`).
`ScoredSubset` is the shared part of the score-driven samplers (p_sgd, c_sgd): the scores, the
smoothing and the draw.
"""

from __future__ import annotations

import numpy as np
import torch

from pretrain.loss_table import LossTable
from pretrain.methods.base import EpochPlan, Method, check_fraction
from pretrain.schedule import Plan


class UniformSGD(Method):
    name = "unif_sgd"
    label = "unif-SGD"
    order = 60
    defaults = {"budget": 0.3}

    def configure(self) -> None:
        check_fraction("arm.budget", self.params["budget"])
        self.schedule_fraction = float(self.params["budget"])

    def size(self) -> int:
        return max(1, int(self.params["budget"] * self.dataset_size))

    def draw(self, epoch: int, probabilities: np.ndarray | None = None) -> np.ndarray:
        """size() distinct samples for 1-based `epoch`, uniformly or by `probabilities`."""
        return self.rng(epoch, 0xA5).choice(self.dataset_size, size=self.size(), replace=False, p=probabilities)

    def start(self) -> EpochPlan:
        return EpochPlan(self.draw(1))

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan:
        return EpochPlan(self.draw(epoch + 1))

    def plan(self) -> Plan:
        size = float(self.size()) if self.dataset_size else self.params["budget"]
        return Plan(self.dataset_size, [size] * self.epochs, [None] * self.epochs)


class ScoredSubset(UniformSGD):
    """p_sgd / c_sgd: budget·N samples drawn by an importance score of each sample.

    The score's base is the running mean, over every epoch that trained on the sample, of
    1 − p_true, where p_true = exp(−loss) is the training forward pass's probability of the
    true class (cross-entropy is −log p_true). Never-seen samples get the highest score seen
    (all 1 before any is seen); `importance` turns the mean into the sampling score; the mean
    score is added to every score (the code's smoothing) before normalizing.
    """

    def configure(self) -> None:
        super().configure()
        self.mean_miss = np.full(self.dataset_size or 0, -1.0)  # −1: never seen
        self.times_seen = np.zeros(self.dataset_size or 0)

    def importance(self, mean_miss: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan:
        seen = table.last_seen.numpy()
        miss = 1.0 - np.exp(-table.last.numpy()[seen])  # a non-finite (inf) loss: miss 1
        count = self.times_seen[seen]
        self.mean_miss[seen] = (count * np.maximum(self.mean_miss[seen], 0.0) + miss) / (count + 1)
        self.times_seen[seen] += 1
        known = self.mean_miss >= 0
        score = np.where(known, self.mean_miss, self.mean_miss[known].max() if known.any() else 1.0)
        score = self.importance(score)
        score = score + score.mean()
        if score.sum() <= 0:  # nothing to prefer: uniform
            return EpochPlan(self.draw(epoch + 1))
        score = np.maximum(score, 1e-10)  # the code's retry: zeros become 1e-10
        return EpochPlan(self.draw(epoch + 1, score / score.sum()))

    def state_dict(self) -> dict:
        return {"mean_miss": torch.from_numpy(self.mean_miss.copy()),
                "times_seen": torch.from_numpy(self.times_seen.copy())}

    def load_state_dict(self, state: dict) -> None:
        self.mean_miss = state["mean_miss"].numpy().copy()
        self.times_seen = state["times_seen"].numpy().copy()
