"""The experiment report: each task's headline (gather.headline), where the spread comes from and
what would settle a claim (gather.variance, also report/variance.json), the paper tables (gather),
figures (the cost-transfer frontier per task among them)."""

from __future__ import annotations

import datetime
from pathlib import Path

from common.files import atomic_path, write_json_atomic
from common.vocab import BACKBONE_META
from gather.collect import collect_files
from gather.headline import headline_section
from gather.plots import plot_all, plot_tsne
from gather.render import render
from gather.tables import build_tables
from gather.variance import variance_lines, variance_report
from pipeline.experiment import Plan
from pipeline.run import DONE, state_of, status_table


def tsne_figure(plan: Plan, out: Path) -> Path | None:
    """The DaR paper's Figure 2 for an experiment pretrained on the synthetic shapes: t-SNE of
    the baseline's and DaR's penultimate features on their own val set (first variant and
    seed); None when the experiment has no such pair of exports."""
    from pretrain.config import load_config, resolve_config
    from pretrain.data import build_datasets
    from pretrain.features import load_feature_network, penultimate_features

    first = [c for c in plan.pretrain if c.variant == plan.pretrain[0].variant and c.seed == plan.pretrain[0].seed
             and c.arm in (plan.baseline, "dar") and (c.export_dir / BACKBONE_META).is_file()] if plan.pretrain else []
    if len(first) < 2:
        return None
    cfg = load_config(first[0].config, first[0].options)
    if cfg["data"]["type"] != "synthetic":
        return None  # real datasets: tools/tsne.py, with the data at hand
    _, val = build_datasets(cfg["data"], int(resolve_config(cfg)["seed"]))
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
    def done(cells):
        return [cell.artifact for cell in cells if state_of(cell, plan) == DONE]

    return done(plan.transfer), done(plan.pretrain)


def _headline_lines(transfer_rows, baseline: str) -> list[str]:
    headlines = headline_section(transfer_rows, baseline)
    return ["## Headline metrics: seeds, intervals, random init", "", *headlines, ""] if headlines else []


def _variance_lines(transfer_rows) -> list[str]:
    lines = variance_lines(transfer_rows)
    if not lines:
        return []
    return ["## Where the spread comes from, and what would settle it", "",
            "Per task and headline metric, each arm's variance components (one-way random effects: "
            "σ_pretrain between its backbones, σ_finetune between fine-tuning seeds of one backbone; "
            "σ_pretrain floored at 0, the raw estimate in `variance.json`), pooled over the pretrained "
            "arms, and the seed planner's answer at those spreads and the runs' measured wall-clock "
            "(`python tools/plan_seeds.py` for any effect).", "", *lines]


def write_report(plan: Plan, command: str, warn=lambda message: None) -> Path:
    """Write <run root>/report/report.md (+ PNG figures) from the files on disk; return its path."""
    out = plan.root / "report"
    transfer_rows, pretrain_rows = collect_files(*current_artifacts(plan), warn=warn)
    tables, notes = build_tables(transfer_rows, pretrain_rows, plan.baseline, plan.original_paper)
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
        *_headline_lines(transfer_rows, plan.baseline),
        *_variance_lines(transfer_rows),
        "## Tables",
        "",
        render(tables, "md") if tables else "_No finished runs yet._",
        "",
    ]
    if figures:
        lines += ["## Figures", ""]
        lines += [f"![{path.stem}]({path.name})" for path in figures]
        lines.append("")
    write_json_atomic(out / "variance.json", variance_report(transfer_rows, plan.baseline))
    report = out / "report.md"
    with atomic_path(report) as tmp:
        tmp.write_text("\n".join(lines))
    return report
