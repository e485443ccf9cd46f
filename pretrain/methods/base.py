"""The method interface: what a pretraining method sees, and what it decides.

A method is one class in one module of this package (or of a folder in
$TRANSFER_SUITE_METHODS), named by its `name`; `pretrain.methods.get_method` finds it by that
name. The engine side (pretrain.hook.MethodHook, pretrain.training_loss.TrainingLoss) calls it:

  start()                  -> EpochPlan   what the first epoch trains on (default: all, shuffled)
  select_in_batch(i, l)    -> mask|None   in-batch methods (`in_batch = True`) only: which
                                          samples of a batch to back-propagate, from the losses
                                          of a scoring forward pass (no gradient); asked only
                                          while scoring_now() is true (e.g. not in a warm-up
                                          epoch that trains on every sample, unscored)
  end_epoch(epoch, table)  -> EpochPlan|None   after every epoch, with the LossTable holding
                                          the per-sample training losses of every iteration
                                          (reduced over ranks); None keeps the current plan
  plan()                   -> Plan|None   the subset size of every epoch if it is known before
                                          the run (tools/schedule.py, progress); None if the
                                          cost is only known after it
  train_epochs()           -> int         epochs actually trained (a budget trains fewer)
  schedule_fraction        float          the LR schedule is compressed into this fraction of
                                          the configured epochs (1.0: unchanged)
  state_dict()/load_state_dict()          everything end_epoch depends on, for exact resume

`label` is the method's display name in tables and reports ("DaR"; empty: its `name`) and
`order` its rank among the arms of a table (lower first, then by name); both travel in the export
(backbone.json `method_label`, `method_order`) to gather, which does not import this package.
Parameters are the keys of the config's `arm` dict besides `name`; `defaults` lists every one a
method takes (an unknown key is an error naming it); `configure()` validates their values and
derives what the method needs from them.
Every random choice draws from a generator seeded by (seed, epoch, ...): never the global RNGs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from common.keys import unknown_keys_message
from common.vocab import UNRANKED
from pretrain.loss_table import LossTable
from pretrain.schedule import Plan


@dataclass
class EpochPlan:
    """What the next epoch trains on, and how its losses are weighted."""

    indices: np.ndarray  # dataset indices; repeats allowed
    shuffle: bool = True  # the sampler reshuffles them every epoch with its own (seed, epoch) stream
    weights: torch.Tensor | None = None  # per dataset sample (float, length N); None = all 1
    normalize: bool = True  # batch loss = Σ w·l / Σ w (True) or mean(w·l) (False, unbiased rescaling)
    event: str | None = None  # what happened, for the log and the history ("drop", "refresh", ...)
    extra_forwards: int = 0  # sample-forwards the method made itself (scoring passes), for the cost

    def state_dict(self) -> dict:
        return {"indices": torch.from_numpy(np.asarray(self.indices, dtype=np.int64).copy()),
                "shuffle": self.shuffle, "normalize": self.normalize, "event": self.event,
                "weights": None if self.weights is None else self.weights.clone()}

    @classmethod
    def from_state_dict(cls, state: dict) -> EpochPlan:
        return cls(indices=state["indices"].numpy().copy(), shuffle=state["shuffle"],
                   weights=state["weights"], normalize=state["normalize"], event=state["event"])


class Method:
    """Base class: uniform i.i.d. training (the whole set every epoch, reshuffled)."""

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""  # display name in tables ("DaR"); empty: `name`
    order: ClassVar[int] = UNRANKED  # rank among a table's arms (i.i.d. 0, DaR 20, ...)
    defaults: ClassVar[dict] = {}  # every parameter with its default
    in_batch: ClassVar[bool] = False  # True: select_in_batch picks the samples to back-propagate
    schedule_fraction: float = 1.0

    def __init__(self, dataset_size: int | None, epochs: int, seed: int = 0, **params):
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise KeyError(f"method {self.name}: {unknown_keys_message(unknown, self.defaults, 'arm')}")
        self.params = {**self.defaults, **params}
        self.dataset_size = dataset_size
        self.epochs = int(epochs)
        self.seed = int(seed)
        self.configure()

    def configure(self) -> None:
        """Validate the parameters (a ValueError naming the bad one) and derive state from them."""

    def rng(self, *keys: int) -> np.random.Generator:
        """A private generator for (seed, *keys), e.g. rng(epoch): reproducible, resumable."""
        return np.random.default_rng([self.seed, *keys])

    @property
    def all_indices(self) -> np.ndarray:
        return np.arange(self.dataset_size, dtype=np.int64)

    # --- what the engine asks -------------------------------------------------------------
    def train_epochs(self) -> int:
        return self.epochs

    def start(self) -> EpochPlan:
        return EpochPlan(self.all_indices)

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan | None:
        return None

    def select_in_batch(self, indices: torch.Tensor, losses: torch.Tensor) -> torch.Tensor | None:
        return None

    def scoring_now(self) -> bool:
        """Whether the coming batches are scored for select_in_batch (else trained whole)."""
        return self.in_batch

    def plan(self) -> Plan | None:
        """Subset size per epoch when known in advance (default: the full set every epoch)."""
        full = float(self.dataset_size or 1.0)
        return Plan(dataset_size=self.dataset_size, sizes=[full] * self.train_epochs(),
                    events=[None] * self.train_epochs(), reference_epochs=self.epochs)

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    # --- equal-cost controls --------------------------------------------------------------
    @classmethod
    def control_for(cls, arm: dict, method: Method) -> dict:
        """The `arm` dict of this method as an equal-cost control of `method` (configured by
        `arm`); methods that can serve as a control override this."""
        raise ValueError(f"{cls.name!r} is not an equal-cost control (it defines no control_for)")


def reference_epochs(nominal: int, trained: int, schedule_fraction: float) -> float:
    """The configured epochs an i.i.d. run would need for `trained` epochs of a (possibly
    compressed) schedule: the denominator of the cost, never beyond the configured epochs."""
    return min(float(nominal), trained / schedule_fraction) if schedule_fraction > 0 else float(nominal)


def check_fraction(name: str, value) -> None:
    """A ValueError naming `name` unless 0 < value <= 1."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < value <= 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
