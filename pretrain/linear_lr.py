"""The linear learning-rate schedule of the budgeted-training protocol, stepped per iteration.

Arazo et al.'s code (after Li et al., ICLR 2020) sets lr = base·(1 − t/T) before iteration
t = 0..T−1 of T iterations trained in all, so the last trained iteration has lr base/T > 0 and
the schedule reaches 0 exactly after it. That needs T exactly: the iterations of every epoch the
run trains (a subset epoch keeps its last partial batch, so its iterations are ceil(|subset| /
batch), not a fraction of a full epoch's). `planned_iterations` counts them from the method's plan;
a method whose subsets are only known from the run's losses (InfoBatch) has no T in advance, so
its progress is counted in epochs instead: (epoch + i/n_epoch)/E, where n_epoch is the current
epoch's iterations (exact for the epoch being trained), which also ends at 0 after the last one.
An optional warm-up rises linearly from 0.1× to 1× over its iterations (mmengine's LinearLR
with start_factor 0.1), and the decay starts where it ends.
"""

from __future__ import annotations

import math

from mmengine.hooks import Hook

from pretrain.methods.base import Method
from pretrain.sampler import per_rank_length


def linear_factor(step: float, total: float, warmup: float = 0.0) -> float:
    """The lr multiplier before `step` (0-based, in iterations or epochs) of a schedule that ends
    at `total`: 0.1 → 1 over `warmup`, then 1 → 0 reached exactly at `total`."""
    if total <= 0:
        raise ValueError(f"a linear schedule needs a positive length, got {total}")
    if step < warmup:
        return 0.1 + 0.9 * step / warmup
    return max(0.0, 1.0 - (step - warmup) / (total - warmup)) if total > warmup else 0.0


def planned_iterations(method: Method, world_size: int, batch_size: int) -> list[int] | None:
    """Iterations of every epoch the run will train (per rank), or None when the subsets depend
    on the run's losses. An in-batch method iterates over the whole set whatever it back-propagates."""
    plan = method.plan()
    if plan is None:
        if not method.in_batch:
            return None
        sizes = [method.dataset_size] * method.train_epochs()
    else:
        sizes = [max(1, round(size)) for size in plan.sizes]
    return [math.ceil(per_rank_length(int(size), world_size, batch_size) / batch_size) for size in sizes]


class LinearLRHook(Hook):
    """Sets every parameter group's lr before each training iteration (see the module doc).

    `iterations`: the planned iterations per epoch (None: count progress in epochs); `warmup`:
    warm-up length in the same unit (iterations, or epochs when `iterations` is None)."""

    priority = "HIGH"  # before anything that reads the lr of the iteration

    def __init__(self, iterations: list[int] | None, epochs: int, warmup: float = 0.0):
        self.total = float(sum(iterations)) if iterations is not None else float(epochs)
        self.by_iteration = iterations is not None
        self.warmup = float(warmup)
        self.epoch_start = 0

    def before_train_epoch(self, runner) -> None:
        self.epoch_start = runner.iter

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self.by_iteration:
            step = float(runner.iter)
        else:
            per_epoch = max(1, len(runner.train_dataloader))
            step = runner.epoch + (runner.iter - self.epoch_start) / per_epoch
        factor = linear_factor(step, self.total, self.warmup)
        for optimizer in _optimizers(runner):
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
                group["lr"] = group["initial_lr"] * factor


def _optimizers(runner):
    wrapper = runner.optim_wrapper
    return [w.optimizer for w in wrapper.values()] if hasattr(wrapper, "values") else [wrapper.optimizer]
