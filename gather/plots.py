"""Figures of the gathered results (matplotlib, Agg backend, PNGs written atomically).

  plot_deltas           per table: Δ (arm − baseline) per metric column, one panel per
                        (task, arch) group, error bars = the 95% t interval (>= 2 paired seeds)
  plot_kept_fraction    per pretraining group: kept fraction per epoch of each arm
  plot_training_curves  per pretraining group: mean training loss per epoch of each arm
  plot_tsne             t-SNE of penultimate features, one panel per backbone (Figure 2)
  plot_ap_vs_iterations per detection task trained at several schedules: box AP against the
                        iterations trained, one curve per initialisation ("Rethinking ImageNet
                        Pre-training"'s Figure 1 layout; mean over seeds, points labelled 1x, 3x, ...)
  plot_frontier         per transfer task: every arm's Δ (headline metric) against its measured
                        pretraining cost, with its 95% interval over pretraining runs, or marked
                        as conditional on one backbone per arm; methods, equal-cost controls and
                        random init told apart; the baseline at (100%, 0)
The numbers are the tables' own (gather.tables.Table rows), so a figure never disagrees with
the table printed beside it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from common.files import atomic_path  # noqa: E402
from common.vocab import BOX_METRICS, EARLIER_METHOD_LABELS, IID  # noqa: E402
from gather.collect import PretrainRow, TransferRow  # noqa: E402
from gather.stats import PRETRAINING_RUNS, Delta, method_delta  # noqa: E402
from gather.tables import MethodNames, Table, arch_name, arm_name, method_names, order_arms  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
    return path


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def plot_deltas(table: Table, path: str | Path, names: MethodNames = EARLIER_METHOD_LABELS) -> Path | None:
    """Δ per metric with 95% intervals, one panel per group; None if the table has no Δ row."""
    groups: dict[str, list] = defaultdict(list)
    for row in table.rows:
        if row.kind == "delta":
            groups[row.group].append(row)
    if not groups:
        return None
    # only the columns some Δ row has a number for (FPN rows leave the mask columns empty)
    columns = [j for j in range(len(table.spec.metrics))
               if any(isinstance(r.values[j], Delta) for rs in groups.values() for r in rs)]
    labels = [table.spec.metrics[j].label for j in columns]
    fig, axes = plt.subplots(len(groups), 1, squeeze=False, dpi=120,
                             figsize=(max(4.0, 0.7 * len(labels) + 2.0), 2.6 * len(groups)))
    for ax, (group, rows) in zip(axes[:, 0], groups.items(), strict=True):
        width = 0.8 / len(rows)
        for i, row in enumerate(rows):
            xs, ys, err_lo, err_hi = [], [], [], []
            for x, j in enumerate(columns):
                d = row.values[j]
                if not isinstance(d, Delta):
                    continue  # a missing metric: no point rather than a fake zero
                xs.append(x + (i - (len(rows) - 1) / 2) * width)
                ys.append(d.mean)
                err_lo.append(d.mean - d.low if d.low is not None else 0.0)
                err_hi.append(d.high - d.mean if d.high is not None else 0.0)
            ax.errorbar(xs, ys, yerr=[err_lo, err_hi], fmt="o", capsize=3,
                        label=arm_name(row.arm, names=names))
        ax.axhline(0.0, color="0.5", linewidth=0.8)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, fontsize=8, rotation=30 if len(labels) > 6 else 0)
        ax.set_ylabel("Δ vs baseline (points)\nbars: 95% t interval", fontsize=8)
        ax.set_title(group, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(table.spec.heading, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_kept_fraction(exports: dict[str, dict], path: str | Path, title: str = "",
                       names: MethodNames = EARLIER_METHOD_LABELS) -> Path:
    """Kept fraction per epoch for each arm ({arm: backbone.json metadata with "history"})."""
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=120)
    for arm, meta in exports.items():
        history = meta.get("history") or []
        epochs = [row["epoch"] for row in history]
        cost = meta.get("cost")
        # the measured cost of the export, the number the tables print, not a recomputation
        shown = f" (cost {100 * cost:.1f}%)" if cost is not None else ""
        ax.step(epochs, [row["fraction"] for row in history], where="mid",
                label=arm_name(arm, names=names) + shown)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("kept fraction")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_training_curves(exports: dict[str, dict], path: str | Path, title: str = "",
                         names: MethodNames = EARLIER_METHOD_LABELS) -> Path:
    """Mean training loss per epoch for each arm ({arm: backbone.json metadata})."""
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=120)
    for arm, meta in exports.items():
        history = [row for row in meta.get("history") or [] if row.get("mean_loss") is not None]
        ax.plot([row["epoch"] for row in history], [row["mean_loss"] for row in history],
                marker=".", label=arm_name(arm, names=names))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean training loss (kept samples)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_tsne(panels: list[tuple[str, np.ndarray, np.ndarray]], path: str | Path, title: str = "",
              seed: int = 0) -> Path:
    """One t-SNE panel per backbone (the DaR paper's Figure 2): 2-D embeddings of penultimate
    features, points coloured by class. `panels`: (title, features [n, d], labels [n])."""
    from sklearn.manifold import TSNE  # scikit-learn only when a t-SNE is asked for

    fig, axes = plt.subplots(1, len(panels), figsize=(3.6 * len(panels), 3.6), dpi=120, squeeze=False)
    for ax, (name, features, labels) in zip(axes[0], panels, strict=True):
        perplexity = min(30.0, (len(features) - 1) / 3)
        points = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
        ax.scatter(points[:, 0], points[:, 1], c=labels, cmap="tab10", s=4, linewidths=0)
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


@dataclass(frozen=True)
class CurvePoint:
    """One schedule of one arm: iterations trained, its name, mean AP (%) over its seeds."""

    iterations: int
    schedule: str
    ap: float
    seeds: int


def iteration_curves(transfer: list[TransferRow], metric: str = BOX_METRICS[0], baseline: str = IID
                     ) -> dict[tuple[str, str], dict[str, list[CurvePoint]]]:
    """{(task, arch): {arm: points by iterations}} for every detection task whose runs span
    several schedules; AP in percent (COCO fractions x 100), mean over seeds."""
    values: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in transfer:
        ap = row.metrics.get(metric)
        if row.schedule is None or row.iterations is None or ap is None or ap < 0:
            continue
        values[(row.task, row.arch)][row.arm][(row.iterations, row.schedule)].append(100.0 * ap)
    curves = {}
    for group, arms in sorted(values.items()):
        if len({schedule for runs in arms.values() for _, schedule in runs}) < 2:
            continue  # one schedule: no curve to draw, the tables say it all
        curves[group] = {arm: [CurvePoint(it, schedule, sum(v) / len(v), len(v))
                               for (it, schedule), v in sorted(arms[arm].items())]
                         for arm in order_arms(arms, baseline, names=method_names(transfer))}
    return curves


def plot_ap_vs_iterations(curves: dict[str, list[CurvePoint]], path: str | Path, title: str = "",
                          ylabel: str = "box AP (%)", names: MethodNames = EARLIER_METHOD_LABELS) -> Path:
    """AP against training iterations, one curve per initialisation (arm), each point labelled
    with its schedule: the layout of "Rethinking ImageNet Pre-training"'s Figure 1."""
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=120)
    for arm, points in curves.items():
        xs, ys = [p.iterations for p in points], [p.ap for p in points]
        ax.plot(xs, ys, marker="o", label=arm_name(arm, names=names))
        for p in points:
            ax.annotate(p.schedule, (p.iterations, p.ap), textcoords="offset points", xytext=(4, 4),
                        fontsize=7)
    ax.set_xlabel("training iterations")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


@dataclass(frozen=True)
class FrontierPoint:
    """One arm of one task: its measured pretraining cost (%) and its Δ against the baseline."""

    arm: str
    label: str
    kind: str  # "baseline", "method", "control" or "random init"
    cost: float  # percent of i.i.d.
    delta: Delta | None  # None for the baseline itself (drawn at 0)


def frontier_points(rows: list[TransferRow], baseline: str, metric) -> list[FrontierPoint]:
    """The frontier of one (task, schedule): every arm with a cost, its Δ vs the baseline."""
    from common.vocab import RANDOM_INIT
    from gather.headline import nested_values, runs_by_arm

    runs, controls = runs_by_arm(rows, baseline)
    if baseline not in runs:
        return []
    base = nested_values(runs[baseline], metric)
    names = method_names(rows)
    points = []
    for arm, arm_runs in runs.items():
        costs = [r.cost for r in arm_runs if r.cost is not None]
        if not costs:
            continue
        kind = ("baseline" if arm == baseline else "random init" if arm == RANDOM_INIT
                else "control" if arm in controls else "method")
        d = None if arm == baseline else method_delta(base, nested_values(arm_runs, metric))
        if arm != baseline and d is None:
            continue
        points.append(FrontierPoint(arm, arm_name(arm, controls.get(arm), names), kind,
                                    100 * sum(costs) / len(costs), d))
    return points


FRONTIER_MARKERS = {"baseline": ("D", "black"), "method": ("o", "tab:blue"), "control": ("s", "tab:orange"),
                    "random init": ("X", "tab:gray")}


def plot_frontier(panels: list[tuple[str, list[FrontierPoint]]], path: str | Path, title: str = "") -> Path:
    """Δ against measured pretraining cost, one panel per headline metric. Filled markers with
    error bars: 95% intervals over pretraining runs (a claim about the methods); hollow markers:
    one backbone per arm (conditional, its bar over fine-tuning seeds only); random init's bar is
    over fine-tuning seeds."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 3.8), dpi=120, squeeze=False)
    for ax, (ylabel, points) in zip(axes[0], panels, strict=True):
        ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
        seen = set()
        for p in points:
            marker, color = FRONTIER_MARKERS[p.kind]
            d = p.delta
            y = 0.0 if d is None else d.mean
            conditional = d is not None and (d.conditional or (d.unit != PRETRAINING_RUNS and p.kind != "random init"))
            face = "none" if conditional else color
            legend = p.kind + (" (one backbone per arm: conditional)" if conditional else "")
            if d is not None and d.low is not None:
                ax.errorbar([p.cost], [y], yerr=[[y - d.low], [d.high - y]], fmt="none", ecolor=color,
                            elinewidth=1, capsize=3, alpha=0.8)
            ax.scatter([p.cost], [y], marker=marker, s=46, facecolors=face, edgecolors=color,
                       label=None if legend in seen else legend, zorder=3)
            seen.add(legend)
            ax.annotate(p.label, (p.cost, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        # from 0 (random init, the cheapest methods) to past the baseline's 100%
        ax.set_xlim(-5, max([105.0] + [p.cost + 10 for p in points]))
        ax.set_xlabel("measured pretraining cost (% of i.i.d.)")
        ax.set_ylabel(f"Δ {ylabel} vs baseline (points)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def plot_frontiers(transfer: list[TransferRow], out_dir: str | Path, baseline: str = IID) -> list[Path]:
    """frontier_<task>.png for every transfer task (and schedule) with a baseline run."""
    from gather.headline import NAMES, headline_metrics, task_groups

    written = []
    for (task, schedule), rows in task_groups(transfer).items():
        panels = [(NAMES[m.key], points) for m in headline_metrics(task)
                  if len(points := frontier_points(rows, baseline, m)) > 1]
        if not panels:
            continue
        label = f"{task} {schedule}" if schedule else task
        written.append(plot_frontier(panels, Path(out_dir) / f"frontier_{_slug(label)}.png",
                                     f"{label}: Δ against measured pretraining cost\n(bars: 95% intervals; "
                                     "hollow: conditional on one backbone per arm)"))
    return written


def exports_by_group(pretrain: list[PretrainRow], baseline: str = IID
                     ) -> dict[tuple[str, str], dict[str, dict]]:
    """{(dataset, arch): {arm: metadata}} for the curve plots, the baseline arm first; the
    lowest seed stands for an arm."""
    groups: dict = defaultdict(dict)
    for row in sorted(pretrain, key=lambda r: (r.seed is None, r.seed or 0, r.path)):
        arms = groups[(row.dataset, row.arch)]
        if row.arm not in arms and row.history:
            arms[row.arm] = {"history": row.history, "cost": row.cost}
    names = method_names(pretrain)
    return {k: {a: v[a] for a in order_arms(v, baseline, names=names)} for k, v in groups.items() if v}


def plot_all(tables: list[Table], pretrain: list[PretrainRow], out_dir: str | Path,
             baseline: str = IID, transfer: list[TransferRow] | None = None) -> list[Path]:
    """Every figure: deltas_<table>.png, kept_fraction_/training_curves_<dataset>_<arch>.png,
    and ap_vs_iterations_<task>_<arch>.png for tasks run at several schedules."""
    out_dir = Path(out_dir)
    names = method_names([*pretrain, *(transfer or [])])
    written = []
    for table in tables:
        path = plot_deltas(table, out_dir / f"deltas_{_slug(table.spec.key)}.png", names)
        if path is not None:
            written.append(path)
    for (dataset, arch), exports in exports_by_group(pretrain, baseline).items():
        title = f"{dataset} {arch_name(arch)}"
        name = f"{_slug(dataset)}_{_slug(arch)}"
        written.append(plot_kept_fraction(exports, out_dir / f"kept_fraction_{name}.png", title, names))
        written.append(plot_training_curves(exports, out_dir / f"training_curves_{name}.png", title, names))
    written += plot_frontiers(transfer or [], out_dir, baseline)
    for (task, arch), curves in iteration_curves(transfer or [], baseline=baseline).items():
        written.append(plot_ap_vs_iterations(
            curves, out_dir / f"ap_vs_iterations_{_slug(task)}_{_slug(arch)}.png",
            f"{task} {arch_name(arch)}: box AP against iterations, one curve per initialisation", names=names))
    return written
