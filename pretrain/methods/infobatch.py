"""infobatch: InfoBatch's unbiased dynamic data pruning (Qin et al., ICLR 2024).

As the paper and its public code (NUS-HPC-AI-Lab/InfoBatch, infobatch/infobatch.py `prune`,
`update`, IBSampler) define it: a sample's score is its last training loss; before each epoch,
of the samples scoring below the mean score, a random fraction `prune_ratio` is left out, and
the kept below-mean samples' losses are multiplied by 1/(1 − prune_ratio); the batch loss is
the plain mean of the weighted losses (no renormalization: the rescaling keeps the expected
gradient). 1-based epoch k prunes while k ≤ δ·E (δ = 0.875 by default), the rest train on the
full set with weight 1: the code's IBSampler counts `iterations` from 1 at the first epoch's
reset (its constructor already called reset once) and prunes while `iterations <= stop_prune`,
so with E=8 the last epoch is full and with E=200 the last 25 are. The first epoch has no
scores yet (all equal) and prunes nothing. The cost depends on the losses: it is measured, never
planned.

Differences from that code: draws come from a generator seeded by (seed, epoch) instead of
reseeding the global NumPy RNG with the epoch; the subset goes to the suite's sampler (no
DataLoader monkey-patching); scores are the epoch's loss of every sample it trained on, reduced
over ranks (the code all-gathers per step, same values); a sample not trained on in an epoch
keeps its score, as in the code.
"""

from __future__ import annotations

import numpy as np
import torch

from pretrain.loss_table import LossTable
from pretrain.methods.base import EpochPlan, Method


class InfoBatch(Method):
    name = "infobatch"
    label = "InfoBatch"
    order = 100
    defaults = {"prune_ratio": 0.5, "delta": 0.875}

    def configure(self) -> None:
        ratio, delta = self.params["prune_ratio"], self.params["delta"]
        if not isinstance(ratio, int | float) or not 0.0 <= ratio < 1.0:
            raise ValueError(f"arm.prune_ratio must be in [0, 1), got {ratio!r}")
        if not isinstance(delta, int | float) or not 0.0 <= delta <= 1.0:
            raise ValueError(f"arm.delta must be in [0, 1], got {delta!r}")
        self.keep_ratio = min(1.0, max(0.1, 1.0 - ratio))  # the code clamps it to [0.1, 1]

    def prunes(self, epoch: int) -> bool:
        """Whether 1-based `epoch` trains on a pruned set (the code: iterations <= stop_prune, where
        `iterations` equals the 1-based epoch when its reset runs)."""
        return epoch <= self.epochs * self.params["delta"]

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan:
        nxt = epoch + 1
        if not self.prunes(nxt):
            return EpochPlan(self.all_indices, event="full set" if self.prunes(epoch) else None)
        scores = table.last.numpy()
        scores = np.where(np.isnan(scores), np.inf, scores)  # never trained on: never pruned
        well_learned = np.flatnonzero(scores < scores[np.isfinite(scores)].mean()) if np.isfinite(
            scores).any() else np.array([], dtype=np.int64)
        kept = self.rng(nxt, 0x1B).choice(well_learned, size=int(self.keep_ratio * well_learned.size), replace=False)
        weights = torch.ones(self.dataset_size)
        weights[torch.from_numpy(kept)] = 1.0 / self.keep_ratio
        keep = np.ones(self.dataset_size, dtype=bool)
        keep[well_learned] = False
        keep[kept] = True
        return EpochPlan(np.flatnonzero(keep), weights=weights, normalize=False,
                         event=f"pruned {self.dataset_size - int(keep.sum())}")

    def plan(self) -> None:
        return None  # which samples fall below the mean is only known from the run's losses
