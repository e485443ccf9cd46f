"""The experiment report: Markdown tables (gather), figures, and pretrained vs random init."""

from __future__ import annotations

import datetime
from pathlib import Path

from common.files import atomic_path
from common.vocab import BACKBONE_META, BOX_METRICS, RANDOM_INIT, SCHEDULES, TASK_FAMILIES, TINY_SUFFIX
from gather.collect import collect_files
from gather.plots import plot_all, plot_tsne
from gather.tables import build_tables, render
from pipeline.experiment import Plan, TransferCell
from pipeline.run import DONE, artifact, cell_hash, state_of, status_table

DETECTION_METRIC = BOX_METRICS[0]  # coco/bbox_mAP


def scratch_task(task: str) -> str | None:
    """The GroupNorm task a detection task's random-init arm trains on ("Rethinking ImageNet
    Pre-training"'s protocol): fpn -> fpn_gn, mask_rcnn_tiny -> mask_rcnn_gn_tiny."""
    tiny = task.endswith(TINY_SUFFIX)
    base = task.removesuffix(TINY_SUFFIX)
    if base.endswith("_gn"):
        return task
    gn = f"{base}_gn"
    return gn + (TINY_SUFFIX if tiny else "") if gn in TASK_FAMILIES else None


def random_init_gaps(transfer_rows, metric: str = DETECTION_METRIC
                     ) -> list[tuple[str, str, float, float, str]]:
    """(task with its schedule, arm, arm's mean metric, gap to random init, caveat) for every
    arm of a task that has a random-init run reporting `metric`; values in percent (COCO AP
    fractions × 100). The random-init run is taken from the same task and schedule; failing
    that, from the task's GroupNorm counterpart (fpn -> fpn_gn) at its longest schedule, and
    the caveat then says that the two differ in protocol and schedule ("" when they do not)."""
    by_task: dict[tuple[str, str | None], dict[str, list[float]]] = {}
    for row in transfer_rows:
        value = row.metrics.get(metric)
        if value is None or value < 0:
            continue
        key = (row.task, getattr(row, "schedule", None))
        by_task.setdefault(key, {}).setdefault(row.arm, []).append(100 * value)

    def mean(values):
        return sum(values) / len(values)

    gaps = []
    for (task, schedule), arms in sorted(by_task.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
        caveat = ""
        scratch = arms.get(RANDOM_INIT)
        if scratch is None:
            counterpart = scratch_task(task)
            runs = [(SCHEDULES.index(s) if s in SCHEDULES else -1, s, a[RANDOM_INIT])
                    for (t, s), a in by_task.items() if t == counterpart and RANDOM_INIT in a]
            if not runs:
                continue
            _, scratch_schedule, scratch = max(runs, key=lambda r: r[0])
            caveat = (f"random init trained {counterpart} at {scratch_schedule} (GroupNorm, nothing frozen), "
                      f"this arm {task} at {schedule}: different protocols and schedules, not an "
                      "equal-schedule comparison")
        label = f"{task} {schedule}" if schedule else task
        for arm, values in sorted(arms.items()):
            if arm != RANDOM_INIT:
                gaps.append((label, arm, mean(values), mean(values) - mean(scratch), caveat))
    return gaps


def tsne_figure(plan: Plan, out: Path) -> Path | None:
    """The DaR paper's Figure 2 for an experiment pretrained on the synthetic shapes: t-SNE of
    the baseline's and DaR's penultimate features on their own val set (first variant and
    seed); None when the experiment has no such pair of exports."""
    from pretrain.config import load_config
    from pretrain.data import build_datasets
    from pretrain.features import load_feature_network, penultimate_features

    first = [c for c in plan.pretrain if c.variant == plan.pretrain[0].variant and c.seed == plan.pretrain[0].seed
             and c.arm in (plan.baseline, "dar") and (c.export_dir / BACKBONE_META).is_file()] if plan.pretrain else []
    if len(first) < 2:
        return None
    cfg = load_config(first[0].config, first[0].options)
    if cfg["data"]["type"] != "synthetic":
        return None  # real datasets: tools/tsne.py, with the data at hand
    _, val = build_datasets(cfg["data"], int(cfg.get("seed", 0)))
    panels = []
    for cell in sorted(first, key=lambda c: c.arm != plan.baseline):
        net, meta = load_feature_network(cell.export_dir)
        features, labels = penultimate_features(net, val)
        panels.append((f"{meta['arm']} (cost {100 * meta['cost']:.1f}%)", features, labels))
    return plot_tsne(panels, out / "tsne_synthetic.png",
                     title=f"t-SNE of penultimate features on the {len(val)} synthetic val images")


def current_artifacts(plan: Plan) -> tuple[list[Path], list[Path]]:
    """(results.json, backbone.json) of the plan's cells that are done under the current config:
    never a run of an earlier config (a `*.stale` directory, another hash) or of another plan."""
    done = [cell for cell in plan.cells if state_of(cell, plan, cell_hash(cell, plan)) == DONE]
    return ([artifact(c) for c in done if isinstance(c, TransferCell)],
            [artifact(c) for c in done if not isinstance(c, TransferCell)])


def write_report(plan: Plan, command: str, warn=lambda message: None) -> Path:
    """Write <run root>/report/report.md (+ PNG figures) from the files on disk; return its path."""
    out = plan.root / "report"
    transfer_rows, pretrain_rows = collect_files(*current_artifacts(plan), warn=warn)
    tables, notes = build_tables(transfer_rows, pretrain_rows, plan.baseline)
    for note in notes:
        warn(note)
    figures = plot_all(tables, pretrain_rows, out, plan.baseline, transfer_rows)
    tsne = tsne_figure(plan, out)
    figures += [tsne] if tsne is not None else []
    lines = [
        f"# Experiment `{plan.name}`",
        "",
        f"Written {datetime.datetime.now().isoformat(timespec='seconds')} by `{command}`; "
        f"run directories under `{plan.root}`. Every number below is read from the runs' "
        "`backbone.json` / `results.json` files; Δ rows are arm − baseline "
        f"(`{plan.baseline}`).",
        "",
        "## Cells",
        "",
        "```",
        status_table(plan),
        "```",
        "",
        "## Tables",
        "",
        render(tables, "md") if tables else "_No finished runs yet._",
        "",
    ]
    gaps = random_init_gaps(transfer_rows)
    if gaps:
        lines += ["## Pretrained vs random init (box AP)", ""]
        for task, arm, mean, gap, caveat in gaps:
            verdict = "beats" if gap > 0 else "does NOT beat"
            lines.append(f"- {task}: `{arm}` reaches {mean:.1f} AP and {verdict} random init by {gap:+.1f} AP"
                         + (f" ({caveat})." if caveat else "."))
        lines.append("")
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{path.stem}]({path.name})" for path in figures]
        lines.append("")
    report = out / "report.md"
    with atomic_path(report) as tmp:
        tmp.write_text("\n".join(lines))
    return report
