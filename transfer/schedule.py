"""Detection schedules 1x, 2x, 3x, 6x, scaled as "Rethinking ImageNet Pre-training" did.

Detectron's 1x is 90k iterations with the lr ×0.1 at 60k and 80k; its 2x is the 1x stretched
(180k, [120k, 160k]). For longer schedules the paper keeps the 2x's tails: "we always reduce the
learning rate by 10× in the last 60k and last 20k iterations respectively, no matter how many
total iterations (i.e., the reduced learning rates are always run for the same number of
iterations)". So a task config states its 1x (length L, milestones m) and schedule k gives

    length k·L,   milestones k·L − min(k, 2)·(L − m)

i.e. proportional up to 2x, then the 2x's lowered-lr tails at the end. On the paper's 90k:
3x = 270k [210k, 250k], 6x = 540k [480k, 520k]. On mmdet's epoch-based 1x (12 epochs,
[8, 11]) the same rule gives mmdet's own 2x (24, [16, 22]) and its gn 3x (36, [28, 34])
exactly, and 6x = 72 epochs [64, 70] (mmdet's scratch 6x has 73, [65, 71]: the paper's 540k
iterations rounded to epochs). The warm-up is not scaled: the paper warms up over the same
first iterations at every schedule. Pure functions, plus `apply_schedule` editing a Config.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.vocab import DEFAULT_SCHEDULE, SCHEDULES

SCHEDULE_FACTORS = {name: int(name.removesuffix("x")) for name in SCHEDULES}  # "3x" -> 3
PROPORTIONAL_UP_TO = 2  # the 2x is the 1x stretched; longer schedules keep the 2x's tails


def schedule_factor(name: str) -> int:
    """3 for "3x"; an error listing the schedules otherwise."""
    if name not in SCHEDULE_FACTORS:
        raise ValueError(f"unknown schedule {name!r}; one of {', '.join(SCHEDULES)}")
    return SCHEDULE_FACTORS[name]


def scaled_schedule(length: int, milestones: list[int], factor: int) -> tuple[int, list[int]]:
    """(length, lr milestones) of the schedule `factor`× a 1x of `length` with `milestones`."""
    if not all(0 < m < length for m in milestones):
        raise ValueError(f"lr milestones {milestones} must lie inside the 1x length {length}")
    total = factor * length
    tail_scale = min(factor, PROPORTIONAL_UP_TO)
    return total, [total - tail_scale * (length - m) for m in milestones]


@dataclass(frozen=True)
class Schedule:
    """A run's schedule: its name, the unit the loop counts, its length and lr milestones."""

    name: str
    unit: str  # "iteration" or "epoch": what the task config's train loop counts
    length: int
    milestones: tuple[int, ...]
    base_length: int  # the task config's own 1x
    base_milestones: tuple[int, ...]

    @property
    def factor(self) -> int:
        return schedule_factor(self.name)

    def describe(self) -> str:
        """"3x: 270000 iterations, lr x0.1 at 210000, 250000 (1x: 90000, at 60000, 80000)"."""
        steps = f", lr x0.1 at {', '.join(map(str, self.milestones))}" if self.milestones else ""
        base = ""
        if self.factor != 1:
            base_steps = (f", at {', '.join(map(str, self.base_milestones))}"
                          if self.base_milestones else "")
            base = f" (1x: {self.base_length}{base_steps})"
        return f"{self.name}: {self.length} {self.unit}s{steps}{base}"

    def record(self) -> dict:
        """What results.json's protocol keeps of it."""
        return {"schedule": self.name, "lr_milestones": list(self.milestones)}


def _loop_unit(cfg) -> tuple[str, str]:
    """(unit, train_cfg key of the length) of the config's train loop."""
    train_cfg = cfg.train_cfg
    if "max_iters" in train_cfg:
        return "iteration", "max_iters"
    if "max_epochs" in train_cfg:
        return "epoch", "max_epochs"
    raise ValueError("train_cfg states neither max_iters nor max_epochs: no schedule to scale")


def _step_schedulers(cfg, unit: str) -> list:
    """The config's MultiStepLR schedulers; any other lr decay cannot be scaled by this rule."""
    steps = []
    for scheduler in cfg.get("param_scheduler") or []:
        kind = scheduler.get("type")
        if kind == "MultiStepLR":
            if bool(scheduler.get("by_epoch", True)) != (unit == "epoch"):
                counts = "epochs" if unit == "iteration" else "iterations"
                raise ValueError(f"param_scheduler MultiStepLR counts {counts} but the train loop counts "
                                 f"{unit}s: cannot scale its milestones")
            steps.append(scheduler)
        elif kind != "LinearLR":  # the warm-up stays as it is
            raise ValueError(f"param_scheduler {kind}: only LinearLR warm-up and MultiStepLR decay can "
                             "be scaled to a schedule")
    return steps


def schedule_of(cfg, name: str = DEFAULT_SCHEDULE) -> Schedule:
    """The schedule `name` of a detection task config (which states its 1x), without editing it."""
    unit, key = _loop_unit(cfg)
    base_length = int(cfg.train_cfg[key])
    steps = _step_schedulers(cfg, unit)
    base_milestones = [int(m) for s in steps for m in s["milestones"]]
    length, milestones = scaled_schedule(base_length, base_milestones, schedule_factor(name))
    return Schedule(name, unit, length, tuple(milestones), base_length, tuple(base_milestones))


def apply_schedule(cfg, name: str) -> Schedule:
    """Scale the config's 1x to schedule `name` in place (loop length, MultiStepLR milestones and
    end); the config then records it as `schedule` (a name other than 1x only: a 1x config is
    left exactly as written, so its recipe hash does not change)."""
    schedule = schedule_of(cfg, name)
    if schedule.factor == 1:
        return schedule
    _, key = _loop_unit(cfg)
    cfg.train_cfg[key] = schedule.length
    milestones = iter(schedule.milestones)
    for scheduler in _step_schedulers(cfg, schedule.unit):
        scheduler["milestones"] = [next(milestones) for _ in scheduler["milestones"]]
        if scheduler.get("end") == schedule.base_length:
            scheduler["end"] = schedule.length
    cfg.schedule = dict(name=schedule.name, base_length=schedule.base_length,
                        base_milestones=list(schedule.base_milestones))
    return schedule


def recorded_schedule(cfg) -> Schedule:
    """The schedule a resolved config runs: the one `apply_schedule` recorded, else its 1x."""
    record = cfg.get("schedule")
    if not record:
        return schedule_of(cfg)
    unit, key = _loop_unit(cfg)
    steps = _step_schedulers(cfg, unit)
    return Schedule(record["name"], unit, int(cfg.train_cfg[key]),
                    tuple(int(m) for s in steps for m in s["milestones"]),
                    int(record["base_length"]), tuple(record["base_milestones"]))
