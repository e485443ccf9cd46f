"""The Drop-and-Refresh (DaR) schedule: which fraction of the data each epoch trains on.

Pure logic, no I/O and no torch: the DaR-family methods (pretrain/methods/dar.py, dap.py,
random_drop.py) apply it, the calculator (tools/schedule.py) and the tests simulate it.

The rule, with W warm-up epochs, I interval, p keep fraction, α active epochs and R refresh
epochs. Start with T_start = T_prev = W and the full set. Epoch τ = 1..E trains on the
current subset; then
  * if τ > W and τ − T_prev = I and τ − T_start < α: keep the hardest fraction p of the
    current subset (highest training loss), T_prev ← τ;
  * if τ ∈ R: back to the full set, T_start ← τ and T_prev ← τ.
The paper's pseudo-code resets only T_start at a refresh; read literally, τ − T_prev then
never equals I again and no drop happens after the first refresh, which contradicts its
text ("restart the process of reducing training data"). We implement the text: a refresh
resets both counters. When a drop and a refresh fall on the same epoch, the refresh wins.

Ranking (`accumulate`): Algorithm 1 resets its loss set L ← {} at the start of every epoch, so
a drop ranks the samples by the losses of the epoch that just ended: `"last"`, the default.
`"mean"` averages each sample's losses over the interval since the last drop or refresh (at
the first drop, epochs 1..W+I): smoother, but not what the paper ran.

Matched cost: the paper's reported costs (86% ImageNet, 83% CIFAR-10, 92% CIFAR-100) follow
from no reading of the rule with its published parameters; `solve_keep` and `solve_active`
find the p (or α) that gives a target cost under the rule as implemented.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

DROP = "drop"
REFRESH = "refresh"


@dataclass(frozen=True)
class DaRParams:
    """Hyperparameters of DaR; the defaults are the paper's ImageNet setting."""

    warmup: int = 10  # W: epochs on the full set before the first drop
    interval: int = 2  # I: epochs between two drops
    keep: float = 0.9  # p: fraction of the current subset kept at a drop
    active: int = 10  # α: drops happen only within α epochs of the last (re)start
    refresh: tuple[int, ...] = (30, 60, 90)  # R: epochs after which the full set returns
    accumulate: str = "last"  # ranking by the last epoch's losses (Algorithm 1), or "mean" over the interval

    def __post_init__(self):
        if not 0.0 < self.keep <= 1.0:
            raise ValueError(f"DaR keep fraction p must be in (0, 1], got {self.keep}")
        if self.interval < 1:
            raise ValueError(f"DaR interval I must be >= 1, got {self.interval}")
        if self.warmup < 0 or self.active < 0:
            raise ValueError(f"DaR warmup W and active α must be >= 0, got {self.warmup}, {self.active}")
        if self.accumulate not in ("mean", "last"):
            raise ValueError(f"DaR accumulate must be 'mean' or 'last', got {self.accumulate!r}")
        object.__setattr__(self, "refresh", tuple(sorted(int(r) for r in self.refresh)))


@dataclass
class ScheduleState:
    """The two counters of the rule; saved in checkpoints so a resumed run continues exactly."""

    t_start: int
    t_prev: int

    @classmethod
    def initial(cls, params: DaRParams) -> ScheduleState:
        return cls(t_start=params.warmup, t_prev=params.warmup)


def end_of_epoch(params: DaRParams, state: ScheduleState, epoch: int) -> str | None:
    """Apply the rule after 1-based `epoch` has trained; update `state`, return the event."""
    event = None
    if (
        epoch > params.warmup
        and epoch - state.t_prev == params.interval
        and epoch - state.t_start < params.active
    ):
        state.t_prev = epoch
        event = DROP
    if epoch in params.refresh:
        state.t_start = state.t_prev = epoch
        event = REFRESH
    return event


def num_kept(keep: float, current: int) -> int:
    """Size of the subset kept at a drop: p·n rounded half up, at least one sample."""
    return max(1, min(current, math.floor(keep * current + 0.5)))


@dataclass
class Plan:
    """A simulated run: the subset size of every epoch and the event after it."""

    dataset_size: int | None
    sizes: list[float] = field(default_factory=list)  # samples trained in epoch τ (index τ-1)
    events: list[str | None] = field(default_factory=list)  # event after epoch τ
    reference_epochs: float | None = None  # the i.i.d. run's epochs (default: as many as trained)

    @property
    def fractions(self) -> list[float]:
        n = self.dataset_size or 1.0
        return [s / n for s in self.sizes]

    @property
    def cost(self) -> float:
        """Sample-forwards relative to the i.i.d. run: the summed kept fractions over its epochs
        (the mean kept fraction when both train as many epochs)."""
        epochs = self.reference_epochs or len(self.sizes)
        return sum(self.fractions) / epochs if self.sizes else 0.0


def simulate(params: DaRParams | None, epochs: int, dataset_size: int | None = None) -> Plan:
    """Kept fraction per epoch. With `dataset_size`, subset sizes are rounded as in a run.

    `params=None` is the i.i.d. arm (always the full set).
    """
    plan = Plan(dataset_size=dataset_size)
    full = float(dataset_size) if dataset_size else 1.0
    current = full
    state = ScheduleState.initial(params) if params else None
    for epoch in range(1, epochs + 1):
        plan.sizes.append(current)
        event = end_of_epoch(params, state, epoch) if params else None
        if event == DROP:
            current = num_kept(params.keep, int(current)) if dataset_size else current * params.keep
        elif event == REFRESH:
            current = full
        plan.events.append(event)
    return plan


REACH_TOLERANCE = 5e-4  # a target this close to the end of the reachable range is taken as that end


def solve_keep(params: DaRParams, epochs: int, target: float) -> DaRParams:
    """`params` with the keep fraction p (4 decimals) whose cost is closest to `target`.

    The cost rises with p (p = 1 keeps everything: cost 1), so p is found by bisection on the
    exact (unrounded) fractions; the 4-decimal p is the better of its two neighbours.
    """
    floor = simulate(replace(params, keep=1e-9), epochs).cost
    if not floor <= target <= 1.0:
        raise ValueError(f"cost {target:.4f} is out of reach of p with these W, I, α, R: "
                         f"from {floor:.4f} (p → 0) to 1.0 (p = 1) over {epochs} epochs")
    lo, hi = 1e-9, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if simulate(replace(params, keep=mid), epochs).cost < target else (lo, mid)
    candidates = {max(1e-4, math.floor(hi * 1e4) / 1e4), min(1.0, math.ceil(hi * 1e4) / 1e4)}
    best = min(candidates, key=lambda p: abs(simulate(replace(params, keep=p), epochs).cost - target))
    return replace(params, keep=best)


def solve_active(params: DaRParams, epochs: int, target: float) -> DaRParams:
    """`params` with the active window α (whole epochs) whose cost is closest to `target`; a
    target outside the costs α can give (α = 0 .. epochs) is an error naming that range."""
    costs = {a: simulate(replace(params, active=a), epochs).cost for a in range(0, epochs + 1)}
    low, high = min(costs.values()), max(costs.values())
    if not low - REACH_TOLERANCE <= target <= high + REACH_TOLERANCE:
        raise ValueError(f"cost {target:.4f} is out of reach of α with these W, I, p, R: from {low:.4f} to "
                         f"{high:.4f} over {epochs} epochs (α = 0 .. {epochs}); solve for p (--solve keep), "
                         "or change p")
    best = min(costs, key=lambda a: (abs(costs[a] - target), a))
    return replace(params, active=best)
