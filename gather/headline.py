"""Each transfer task's headline: one number per arm over seeds, and what it says.

The paper tables (gather.tables) show every metric. A reader of a small experiment first wants
each task's headline metric (box AP, mask AP, mIoU, keypoint AP): every arm's mean ± std over
its runs with its cost, the paired Δ against the baseline with its 95% interval, what that
interval is over (pretraining runs: a claim about the methods; fine-tuning seeds of one backbone
per arm: conditional on those two backbones) and, in words, whether it covers 0, and how far each
pretrained arm is above random init. The same metrics make the pipeline's one-line progress
summary of a finished cell (`format_headline`).
"""

from __future__ import annotations

from collections import defaultdict

from common.vocab import RANDOM_INIT, SCHEDULES, TASK_FAMILIES, TINY_SUFFIX
from gather.collect import TransferRow
from gather.render import MD, format_delta, format_summary
from gather.stats import PRETRAINING_RUNS, method_delta, summarize
from gather.tables import (
    BOX,
    KEYPOINTS,
    MASK,
    MIOU_COLUMN,
    TOP1,
    VOC_AP50,
    MethodNames,
    Metric,
    arm_name,
    method_names,
    order_arms,
    run_arm,
    total_cost,
)

# metric family (common.vocab.TASK_FAMILIES) -> its headline metrics, the first one leading
HEADLINES: dict[str, tuple[Metric, ...]] = {
    "detection": (BOX[0],),
    "voc_detection": (VOC_AP50,),  # VOC's own metric; AP and AP75 are in the paper's table
    "instance_segmentation": (BOX[0], MASK[0]),
    "semantic_segmentation": MIOU_COLUMN,
    "keypoints": (KEYPOINTS[0],),
    "classification": (TOP1,),
}
NAMES = {BOX[0].key: "box AP", MASK[0].key: "mask AP", MIOU_COLUMN[0].key: "mIoU",
         KEYPOINTS[0].key: "keypoint AP", TOP1.key: "top-1", VOC_AP50.key: "box AP50"}


def headline_metrics(task: str) -> tuple[Metric, ...]:
    """The headline metrics of a task; () for a task of unknown family."""
    return HEADLINES.get(TASK_FAMILIES.get(task, ""), ())


def format_headline(task: str, metrics: dict) -> str:
    """"box AP 39.9, mask AP 20.1" (percent) from one run's metrics; "" when it has none."""
    parts = []
    for metric in headline_metrics(task):
        value = metric.percent(metrics.get(metric.key))
        if value is not None:
            parts.append(f"{NAMES[metric.key]} {value:.1f}")
    return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _runs_text(runs: list[TransferRow]) -> str:
    """"2 seeds", or "3 backbones × 2 seeds" when the arm was pretrained with several seeds."""
    backbones = {r.pretrain_seed for r in runs if r.pretrain_seed is not None}
    seeds = {r.seed for r in runs}
    if len(backbones) > 1:
        return f"{_plural(len(backbones), 'backbone')} × {_plural(len(seeds), 'seed')}"
    return _plural(len(runs), "seed")


def _delta_sentence(arm: str, baseline: str, values: dict, base_values: dict, names: MethodNames) -> str:
    d = method_delta(base_values, values)
    a, b = arm_name(arm, names=names), arm_name(baseline, names=names)
    what = f"{a} − {b}"
    if d is None:
        return f"{what}: no value on one side."
    text = f"{what}: {format_delta(d, MD)}"
    if not d.paired:
        return f"{text} (no seed in common: a difference of means, without an interval)."
    if d.unit == PRETRAINING_RUNS:
        text += (f" over {d.n} pretraining runs per arm (each backbone averaged over its fine-tuning seeds, "
                 "pretraining seeds paired).")
        if d.low <= 0 <= d.high:
            return (f"{text} The 95% interval over pretraining runs covers 0: these runs cannot tell the "
                    f"methods {a} and {b} apart.")
        return f"{text} The 95% interval over pretraining runs excludes 0: as a method, {a} is " \
               f"{'above' if d.mean > 0 else 'below'}."
    if d.conditional:
        text += (f" over {_plural(d.n, 'fine-tuning seed')} of one backbone per arm: conditional on these two "
                 "backbones, it says nothing about the methods")
        if d.low is None:
            return f"{text} (and one paired seed gives no interval)."
        covers = "covers 0" if d.low <= 0 <= d.high else "excludes 0 (these two backbones differ; the methods may not)"
        return f"{text}; its interval is over fine-tuning seeds only and {covers}."
    if d.low is None:
        return f"{text} (one paired seed: no interval, so no conclusion about the sign)."
    if d.low <= 0 <= d.high:
        return (f"{text} over {d.n} paired fine-tuning seeds. The 95% interval covers 0: these seeds cannot "
                f"tell {a} and {b} apart.")
    return f"{text} over {d.n} paired fine-tuning seeds. The 95% interval excludes 0: {a} is " \
           f"{'above' if d.mean > 0 else 'below'}."


def scratch_task(task: str) -> str | None:
    """The GroupNorm task a detection task's random-init arm trains on ("Rethinking ImageNet
    Pre-training"'s protocol): fpn -> fpn_gn, mask_rcnn_tiny -> mask_rcnn_gn_tiny."""
    base = task.removesuffix(TINY_SUFFIX)
    if base.endswith("_gn"):
        return task
    gn = f"{base}_gn"
    return gn + (TINY_SUFFIX if task.endswith(TINY_SUFFIX) else "") if gn in TASK_FAMILIES else None


def _scratch_anchor(task: str, schedule: str | None, groups: dict) -> tuple[list[TransferRow], str]:
    """The random-init runs to compare (task, schedule) with, and a caveat ("" when none is due):
    the same task and schedule; failing that, the task's GroupNorm counterpart (fpn -> fpn_gn)
    at its longest schedule, which differs in protocol and schedule and says so."""
    same = [r for r in groups.get((task, schedule), []) if r.arm == RANDOM_INIT]
    if same:
        return same, ""
    counterpart = scratch_task(task)
    found = [(SCHEDULES.index(s) if s in SCHEDULES else -1, s, rows) for (t, s), rows in groups.items()
             if t == counterpart and any(r.arm == RANDOM_INIT for r in rows)]
    if not found or counterpart == task:
        return [], ""
    _, other, rows = max(found, key=lambda f: f[0])
    return ([r for r in rows if r.arm == RANDOM_INIT],
            f"random init trained {counterpart} at {other} (GroupNorm, nothing frozen), this task "
            f"{task} at {schedule}: different protocols and schedules, not an equal-schedule comparison")


def task_groups(rows: list[TransferRow]) -> dict[tuple[str, str | None], list[TransferRow]]:
    """{(task, schedule): its runs} for the tasks that have headline metrics, sorted."""
    groups: dict[tuple[str, str | None], list[TransferRow]] = defaultdict(list)
    for row in rows:
        if headline_metrics(row.task):
            groups[(row.task, row.schedule)].append(row)
    return {k: groups[k] for k in sorted(groups, key=lambda k: (k[0], str(k[1])))}


def runs_by_arm(rows: list[TransferRow], baseline: str) -> tuple[dict[str, list[TransferRow]], dict[str, str]]:
    """({arm: its runs} in table order, {control arm: the arm it is an equal-cost control of})."""
    runs: dict[str, list[TransferRow]] = defaultdict(list)
    controls = {}
    for row in rows:
        key = run_arm(row.arm, row.budget, row.control_of)
        runs[key].append(row)
        if row.control_of:
            controls[key] = row.control_of
    return {arm: runs[arm] for arm in order_arms(runs, baseline, controls, method_names(rows))}, controls


def nested_values(runs: list[TransferRow], metric: Metric) -> dict:
    """{(pretraining seed, fine-tuning seed): value in percent or None} (gather.stats.Runs)."""
    return {(r.pretrain_seed, r.seed): metric.percent(r.metrics.get(metric.key)) for r in runs}


def headline_section(rows: list[TransferRow], baseline: str) -> list[str]:
    """Markdown lines: per task (and schedule) and headline metric, arms over seeds, Δ vs the
    baseline with its interval in words, and each pretrained arm's gap to random init."""
    groups = task_groups(rows)
    names = method_names(rows)
    lines = []
    for task, schedule in groups:
        label = f"{task} {schedule}" if schedule else task
        runs, controls = runs_by_arm(groups[(task, schedule)], baseline)
        arms = list(runs)
        anchor, caveat = _scratch_anchor(task, schedule, groups)
        for metric in headline_metrics(task):
            values = {arm: nested_values(runs[arm], metric) for arm in arms}
            lines.append(f"- **{label}, {NAMES[metric.key]}** (mean ± std over runs; cost = measured "
                         "pre-training compute with a subset's selection, i.i.d. = 100%):")
            for arm in arms:
                summary = summarize(v for v in values[arm].values() if v is not None)
                costs = [c for c in map(total_cost, runs[arm]) if c is not None]  # a subset's selection too
                cost = f", cost {100 * sum(costs) / len(costs):.1f}%" if costs else ""
                lines.append(f"  - {arm_name(arm, controls.get(arm), names)}: {format_summary(summary, MD)} "
                             f"({_runs_text(runs[arm]) if summary else _plural(0, 'seed')}{cost})")
            if baseline in values:
                for arm in arms:
                    if arm not in (baseline, RANDOM_INIT):
                        lines.append("  - " + _delta_sentence(arm, baseline, values[arm], values[baseline], names))
            scratch = summarize(v for v in (metric.percent(r.metrics.get(metric.key)) for r in anchor)
                                if v is not None)
            gaps = []
            for arm in arms:
                mine = summarize(v for v in values[arm].values() if v is not None)
                if scratch is not None and arm != RANDOM_INIT and mine is not None:
                    gaps.append(f"{arm_name(arm, controls.get(arm), names)} {mine.mean - scratch.mean:+.1f}")
            if gaps:
                lines.append(f"  - above random init ({scratch.mean:.1f}), difference of means: "
                             + ", ".join(gaps) + (f" ({caveat})." if caveat else "."))
    return lines
