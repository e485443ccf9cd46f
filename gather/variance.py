"""Where an experiment's spread comes from, and what it would take to settle a claim.

Per task (and schedule) and headline metric: every arm's variance components (gather.stats:
σ_pretrain between its backbones, σ_finetune between fine-tuning seeds of one backbone, each with
its degrees of freedom), the components pooled over the arms that have pretraining runs of their
own, and the measured wall-clock of a pretraining and a fine-tuning run. From those the seed
planner (gather.planner) answers how many pretraining runs × fine-tuning seeds a given effect needs,
and what the experiment as run could detect. `variance_report` is what report/variance.json holds;
`variance_lines` the report's markdown; `planning_inputs` what tools/plan_seeds.py reads from a
finished experiment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from common.vocab import RANDOM_INIT
from gather.collect import TransferRow
from gather.headline import NAMES, headline_metrics
from gather.planner import MAX_FINETUNE_SEEDS, cheapest_design, minimum_detectable_effect
from gather.stats import VarianceComponents, mean, pooled_components, variance_components
from gather.tables import arm_name, method_names, run_arm

VARIANCE_FORMAT = "transfer-suite/variance/1"
REPORT_EFFECT = 1.0  # the report plans for a 1-point effect (tools/plan_seeds.py takes any)


@dataclass(frozen=True)
class TaskSpread:
    """One (task, schedule) and headline metric: per-arm and pooled components, measured costs."""

    task: str  # "fpn_tiny", or "fpn 3x" with a schedule
    metric: str  # "box AP", "mIoU", ...
    arms: dict  # {arm: VarianceComponents}
    pooled: VarianceComponents | None  # over the arms with pretraining runs of their own
    pooled_arms: tuple  # which arms
    cost_pretrain_s: float | None  # mean wall-clock of one pretraining run (its export's wall_clock_s)
    cost_finetune_s: float | None  # mean wall-clock of one fine-tuning run (results.json wall_clock_s)
    pretrain_runs: int  # k of the experiment as run: the least backbones of a pooled arm
    finetune_seeds: int  # m: the least fine-tuning runs of a backbone


def task_spreads(rows: list[TransferRow]) -> list[TaskSpread]:
    """Every (task, schedule) × headline metric with at least one run."""
    groups: dict[tuple, list[TransferRow]] = defaultdict(list)
    for row in rows:
        if headline_metrics(row.task):
            groups[(row.task, row.schedule or "")].append(row)
    spreads = []
    for (task, schedule), group in sorted(groups.items()):
        by_arm: dict[str, list[TransferRow]] = defaultdict(list)
        for row in group:
            by_arm[run_arm(row.arm, row.budget, row.control_of)].append(row)
        for metric in headline_metrics(task):
            arms = {}
            for arm, runs in by_arm.items():
                values = {(r.pretrain_seed, r.seed): metric.percent(r.metrics.get(metric.key)) for r in runs}
                components = variance_components(values)
                if components is not None:
                    arms[arm] = components
            # every pretrained arm, also one with a single backbone: its fine-tuning seeds still
            # measure σ_finetune (σ_pretrain needs two backbones; pooling adds 0 df for it)
            pretrained = {a: c for a, c in arms.items() if a != RANDOM_INIT}
            pooled_runs = [r for a in pretrained for r in by_arm[a]]
            backbones = {(r.arm, r.budget, r.pretrain_seed, r.pretrain_wall_clock_s) for r in pooled_runs}
            pretrain_s = [b[3] for b in backbones if b[3] is not None]
            finetune_s = [r.wall_clock_s for r in pooled_runs if r.wall_clock_s is not None]
            runs_per_backbone = defaultdict(int)
            for r in pooled_runs:
                runs_per_backbone[(r.arm, r.budget, r.pretrain_seed)] += 1
            spreads.append(TaskSpread(
                task=f"{task} {schedule}".strip(), metric=NAMES[metric.key], arms=arms,
                pooled=pooled_components(pretrained.values()), pooled_arms=tuple(pretrained),
                cost_pretrain_s=mean(pretrain_s) if pretrain_s else None,
                cost_finetune_s=mean(finetune_s) if finetune_s else None,
                pretrain_runs=min((c.backbones for c in pretrained.values()), default=0),
                finetune_seeds=min(runs_per_backbone.values(), default=0)))
    return spreads


def variance_report(rows: list[TransferRow], baseline: str) -> dict:
    """The content of report/variance.json."""
    tasks: dict = defaultdict(dict)
    for spread in task_spreads(rows):
        tasks[spread.task][spread.metric] = {
            "arms": {arm: c.as_dict() for arm, c in spread.arms.items()},
            "pooled": spread.pooled.as_dict() if spread.pooled else None,
            "pooled_over": list(spread.pooled_arms),
            "cost_s": {"pretrain": spread.cost_pretrain_s, "finetune": spread.cost_finetune_s},
            "design": {"pretrain_runs": spread.pretrain_runs, "finetune_seeds": spread.finetune_seeds},
        }
    return {"format": VARIANCE_FORMAT, "baseline": baseline, "unit": "metric points (percent)",
            "estimator": "one-way random effects per arm (ANOVA): sigma_finetune^2 = MSW (df N - k), "
                         "sigma_pretrain^2 = (MSB - MSW) / n0 (df k - 1), floored at 0, raw kept",
            "tasks": dict(tasks)}


def _sigma(value: float | None, df: int) -> str:
    return "–" if value is None else f"{value:.2f} (df {df})"


def _design_words(design, costs: tuple) -> str:
    minutes = f", about {design.cost / 60:.0f} CPU-minutes on this machine" if all(costs) else ""
    return (f"{design.pretrain_runs} pretraining runs × {design.finetune_seeds} fine-tuning seeds per arm "
            f"({2 * design.pretrain_runs} backbones, {2 * design.pretrain_runs * design.finetune_seeds} fine-tuning "
            f"runs{minutes})")


def bounded_sentence(spread: TaskSpread, effect: float, target_power: float) -> str:
    """The plan when only σ_finetune was measured (one backbone per arm): σ_pretrain = 0 gives
    the fewest runs any design needs (power only falls as σ_pretrain grows); σ_pretrain =
    σ_finetune is a stated assumption, not a measurement."""
    sigma_f = spread.pooled.sigma_finetune
    costs = (spread.cost_pretrain_s or 0.0, spread.cost_finetune_s or 0.0)
    parts = []
    for label, sigma_p in (("if backbones of an arm did not differ at all (σ_pretrain = 0, the least any "
                            "design needs)", 0.0),
                           (f"if they differed as much as fine-tuning seeds (σ_pretrain = {sigma_f:.2f}, assumed)",
                            sigma_f)):
        design = cheapest_design(effect, sigma_p, sigma_f, *costs, target_power)
        parts.append(f"{label}: " + (_design_words(design, costs) if design else
                                     "out of reach of 200 pretraining runs per arm"))
    return (f"σ_pretrain not measured (one pretraining run per arm; two or more measure it). To detect "
            f"{effect:g} point(s) with {100 * target_power:.0f}% power at the measured σ_finetune "
            f"{sigma_f:.2f}: " + "; ".join(parts)
            + "; as run it cannot test a method-level claim (one pretraining run per arm)")


def planner_sentence(spread: TaskSpread, effect: float = REPORT_EFFECT, target_power: float = 0.8) -> str:
    """What the planner says at the spread's pooled components, in words."""
    pooled = spread.pooled
    if pooled is not None and pooled.sigma_pretrain is None and pooled.sigma_finetune:
        return bounded_sentence(spread, effect, target_power)
    if pooled is None or pooled.sigma_pretrain is None or pooled.sigma_finetune is None:
        need = "two or more pretraining runs per arm" if pooled is None or pooled.df_pretrain == 0 else \
            "two or more fine-tuning seeds per backbone"
        return (f"no plan: σ_pretrain and σ_finetune need {need} to be measured "
                "(tools/plan_seeds.py takes them as --sigma-pretrain/--sigma-finetune)")
    if pooled.sigma_pretrain == 0 and pooled.sigma_finetune == 0:
        return "no plan: every run of an arm gave the same value (no spread measured)"
    costs = (spread.cost_pretrain_s or 0.0, spread.cost_finetune_s or 0.0)
    design = cheapest_design(effect, pooled.sigma_pretrain, pooled.sigma_finetune, *costs, target_power)
    mde = minimum_detectable_effect(pooled.sigma_pretrain, pooled.sigma_finetune, spread.pretrain_runs,
                                    spread.finetune_seeds, target_power)
    as_run = (f"as run ({spread.pretrain_runs} × {spread.finetune_seeds}) it detects {mde:.1f} points"
              if mde is not None else "as run it cannot test a method-level claim (one pretraining run per arm)")
    if design is None:
        return f"a {effect:g}-point effect is out of reach of 200 pretraining runs per arm; {as_run}"
    caveats = []
    if pooled.var_pretrain_raw is not None and pooled.var_pretrain_raw < 0:
        caveats.append(f"σ_pretrain's raw estimate is negative ({pooled.var_pretrain_raw:.2f}), floored at 0 on "
                       f"{pooled.df_pretrain} df: the plan then counts on fine-tuning seeds alone, which more "
                       "pretraining runs may contradict")
    if design.finetune_seeds == MAX_FINETUNE_SEEDS:
        caveats.append(f"m is at the planner's cap of {MAX_FINETUNE_SEEDS}")
    return (f"to detect {effect:g} point(s) with {100 * target_power:.0f}% power: {_design_words(design, costs)}; "
            f"{as_run}"
            + "".join(f" ({c})" for c in caveats))


def variance_lines(rows: list[TransferRow]) -> list[str]:
    """Markdown: per task and headline metric, each arm's components, the pooled ones and the plan."""
    lines, names = [], method_names(rows)
    for spread in task_spreads(rows):
        lines += [f"**{spread.task}, {spread.metric}**", "",
                  "| arm | backbones | runs | σ_pretrain (df) | σ_finetune (df) |", "|---|---|---|---|---|"]
        for arm, c in spread.arms.items():
            lines.append(f"| {arm_name(arm, names=names)} | {c.backbones if arm != RANDOM_INIT else '–'} | {c.runs} | "
                         f"{_sigma(c.sigma_pretrain, c.df_pretrain) if arm != RANDOM_INIT else '–'} | "
                         f"{_sigma(c.sigma_finetune, c.df_finetune)} |")
        if spread.pooled is not None and len(spread.pooled_arms) > 1:
            p = spread.pooled
            pooled = ", ".join(arm_name(a, names=names) for a in spread.pooled_arms)
            lines.append(f"| pooled ({pooled}) | {p.backbones} | {p.runs} | "
                         f"{_sigma(p.sigma_pretrain, p.df_pretrain)} | {_sigma(p.sigma_finetune, p.df_finetune)} |")
        lines += ["", f"Seed planner (pooled spreads, measured wall-clock): {planner_sentence(spread)}.", ""]
    return lines
