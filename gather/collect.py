"""Find and parse the results of stages 1 and 2 under a directory: the only I/O of the tables.

Two kinds of files, searched recursively:
  results.json   one transfer run, read through common.results.TransferResults (its schema and
                 the rules for files of older versions) -> TransferRow
  backbone.json  one pretraining export, read through common.backbone.BackboneExport (its schema
                 and the rules for files of older versions) -> PretrainRow
Only the keys the tables need are required, because the schemas may still grow; a file
that cannot be read or lacks those keys is skipped with a warning that names it, so that one
broken run never hides the others. Metric values stay exactly as the file has them (fractions
or percent, -1 sentinels); scaling is the tables' job (gather.tables.Metric).
"""

from __future__ import annotations

import json
import math
import numbers
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from common.backbone import BackboneExport, BackboneSchemaError, MethodShown, method_shown, replicate_seed
from common.results import ResultsSchemaError, TransferResults
from common.vocab import BACKBONE_META, RESULTS_FILE

Warn = Callable[[str], None]


def warn_stderr(message: str) -> None:
    """Default warning sink: one line on stderr."""
    print(f"gather: warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class TransferRow:
    """One fine-tuning run: task, the pretraining arm it started from, its seed and metrics."""

    task: str
    arm: str
    seed: int  # the fine-tuning seed
    arch: str
    cost: float | None  # measured pretraining cost, 1.0 = i.i.d.
    metrics: dict = field(hash=False)  # {name: number or None} as the toolbox reported them
    config_hash: str | None
    pretrain_dataset: str | None  # what the backbone was pretrained on (None: random init)
    path: str
    control_of: str | None = None  # the arm whose equal-cost control the backbone is
    budget: float | None = None  # the pretraining method's `budget` parameter, if it has one
    schedule: str | None = None  # detection: "1x", "3x", ... (protocol.schedule); else None
    iterations: int | None = None  # iterations trained (protocol.train_iters, else max_iters)
    conditional: dict | None = field(default=None, hash=False)  # conditional pre-training, see _conditional
    # the backbone's pretraining seed as its experiment lists it (backbone.json `replicate`, else
    # `seed`): runs of two arms pair by it; None for random init and checkpoints without a seed
    pretrain_seed: int | None = None
    wall_clock_s: float | None = None  # the fine-tuning run's (results.json)
    pretrain_wall_clock_s: float | None = None  # its backbone's pretraining run's (the export's)
    method: MethodShown | None = None  # how the backbone's method is named in tables (the export's)


@dataclass(frozen=True)
class PretrainRow:
    """One pretraining export: dataset, arch, arm, seed, cost, accuracies and history."""

    dataset: str
    arch: str
    arm: str
    seed: int | None
    cost: float | None
    metrics: dict = field(hash=False)  # top1, top5 and the export's "metrics" (percent)
    history: list = field(hash=False)  # one row per epoch (pretrain.hook.MethodHook)
    epochs: int | None
    path: str
    control_of: str | None = None  # the arm this run is an equal-cost control of
    budget: float | None = None  # the method's `budget` parameter, if it has one
    pretrain_seed: int | None = None  # the experiment's pretraining seed it replicates (`replicate`, else seed)
    method: MethodShown | None = None  # how its method is named in tables (the export's)


class ParseError(ValueError):
    """A file that does not carry what the tables need."""


def _number(value) -> float | None:
    """A finite float, or None for null, NaN, infinities and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _optional_text(obj: dict, key: str) -> str | None:
    value = obj.get(key)
    return value if isinstance(value, str) and value else None


def _budget(meta: dict) -> float | None:
    params = meta.get("arm_params")
    return _number(params.get("budget")) if isinstance(params, dict) else None


def _conditional(protocol: dict, pretrain: dict) -> dict:
    """What the conditional pre-training table reads: the subset (selection method, fraction;
    None for a run on the whole source), the pretraining resolution, the costs (pixel-weighted
    pretraining, selection, their sum; 1.0 = i.i.d. on the whole source at full resolution),
    selection + pretraining wall-clock, and the target (the transfer's data folder name)."""
    subset = pretrain.get("subset") if isinstance(pretrain.get("subset"), dict) else {}
    selection = pretrain.get("selection_cost") if isinstance(pretrain.get("selection_cost"), dict) else {}
    root = protocol.get("data_root")
    cost = _number(pretrain.get("cost"))
    cost_pixels = _number(pretrain.get("cost_pixels"))
    seconds = [_number(pretrain.get("wall_clock_s")), _number(selection.get("wall_clock_s")) or 0.0]
    return {
        "method": subset.get("method"), "fraction": _number(subset.get("fraction")),
        "image_size": pretrain.get("image_size"),
        "pretrain_cost": cost_pixels if cost_pixels is not None else cost,
        "selection_cost": _number(selection.get("cost")) or 0.0,
        # random init and plain checkpoints carry no total: nothing was selected
        "total_cost": _number(pretrain.get("total_cost"))
        if pretrain.get("total_cost") is not None else (cost_pixels if cost_pixels is not None else cost),
        "wall_clock_s": None if seconds[0] is None else sum(seconds),
        "pretrain_wall_clock_s": seconds[0],  # pretraining alone: the measured resolution ratio
        "target": Path(str(root).rstrip("/")).name if root else None,
    }


def _metrics(value) -> dict:
    if not isinstance(value, dict):
        raise ParseError(f"'metrics' must be a dict, got {type(value).__name__}")
    return {str(k): _number(v) for k, v in value.items()}


def parse_results(obj, path: str = "") -> TransferRow:
    """A TransferRow from a parsed results.json, read through common.results.TransferResults (which
    holds the rules for files of older versions); ResultsSchemaError says what is missing."""
    results = TransferResults.from_json(obj, complete=False)
    pretrain = results.pretrain
    return TransferRow(task=results.task, arm=results.arm, seed=results.seed,
                       arch=pretrain["arch"], cost=_number(pretrain.get("cost")),
                       metrics=_metrics(results.metrics), config_hash=results.config_hash,
                       pretrain_dataset=pretrain.get("dataset"), path=str(path),
                       control_of=_optional_text(pretrain, "control_of"), budget=_budget(pretrain),
                       schedule=results.schedule, iterations=results.iterations,
                       conditional=_conditional(results.protocol, pretrain), pretrain_seed=replicate_seed(pretrain),
                       wall_clock_s=_number(results.wall_clock_s),
                       pretrain_wall_clock_s=_number(pretrain.get("wall_clock_s")),
                       method=method_shown(pretrain))


def parse_backbone(obj, path: str = "") -> PretrainRow:
    """A PretrainRow from a parsed backbone.json, read through common.backbone.BackboneExport (which
    holds the rules for files of older versions); BackboneSchemaError says what is missing."""
    export = BackboneExport.from_json(obj, complete=False, source=BACKBONE_META)
    metrics = _metrics(export.metrics)
    # top1/top5 are the export's required keys; "metrics" (last evaluation) may repeat them
    metrics.update({k: _number(v) for k, v in (("top1", export.top1), ("top5", export.top5)) if v is not None})
    return PretrainRow(dataset=export.dataset, arch=export.arch, arm=export.arm, seed=export.seed,
                       cost=_number(export.cost), metrics=metrics,
                       history=[r for r in export.history if isinstance(r, dict)], epochs=export.epochs,
                       path=str(path), control_of=_optional_text(export.extra, "control_of"),
                       budget=_budget({"arm_params": export.arm_params}), pretrain_seed=export.replicate,
                       method=export.method_shown)


STALE_SUFFIX = ".stale"  # a run directory the pipeline moved aside (made by an earlier config)


def find_result_files(results_dir: str | Path) -> tuple[list[Path], list[Path]]:
    """(results.json paths, backbone.json paths) under `results_dir`, sorted for determinism;
    nothing inside a `*.stale` directory (runs of an earlier config) is read."""
    root = Path(results_dir)

    def current(path: Path) -> bool:
        return not any(part.endswith(STALE_SUFFIX) for part in path.relative_to(root).parts[:-1])

    return ([p for p in sorted(root.rglob(RESULTS_FILE)) if current(p)],
            [p for p in sorted(root.rglob(BACKBONE_META)) if current(p)])


def _load(path: Path, parse, warn: Warn):
    try:
        obj = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        warn(f"skipping {path}: cannot read JSON ({exc})")
        return None
    try:
        row = parse(obj, str(path))
    except (ParseError, ResultsSchemaError, BackboneSchemaError) as exc:
        warn(f"skipping {path}: {exc}")
        return None
    missing = missing_cost_key(obj, parse)
    if missing:  # once per file: its tables show "–" for the cost, and this says why
        warn(f"{path} has no {missing!r} key: its pre-train cost shows as '–'")
    return row


def missing_cost_key(obj: dict, parse) -> str | None:
    """The dotted key of the measured cost if a parsed file lacks it (older or hand-made files)."""
    if parse is parse_results:
        return None if "cost" in obj["pretrain"] else "pretrain.cost"
    return None if "cost" in obj else "cost"


def drop_duplicates(rows: list, key, warn: Warn, prefer=None) -> list:
    """One row per `key(row)`: the first in `prefer` order (default: as given, i.e. by path);
    each dropped duplicate is warned about, since averaging it in would fake an extra seed."""
    ordered = sorted(rows, key=prefer) if prefer else rows
    kept: dict = {}
    for row in ordered:
        k = key(row)
        if k in kept:
            warn(f"duplicate run {k}: keeping {kept[k].path}, ignoring {row.path}")
            continue
        kept[k] = row
    return [row for row in rows if kept.get(key(row)) is row]


def collect(results_dir: str | Path, warn: Warn = warn_stderr
            ) -> tuple[list[TransferRow], list[PretrainRow]]:
    """All readable runs under `results_dir`: (transfer rows, pretraining rows)."""
    return collect_files(*find_result_files(results_dir), warn=warn)


def collect_files(results_paths: list[Path], backbone_paths: list[Path], warn: Warn = warn_stderr
                  ) -> tuple[list[TransferRow], list[PretrainRow]]:
    """The runs of exactly these results.json and backbone.json files: (transfer rows, pretraining rows)."""
    transfer = [r for p in results_paths if (r := _load(p, parse_results, warn)) is not None]
    pretrain = [r for p in backbone_paths if (r := _load(p, parse_backbone, warn)) is not None]
    transfer = drop_duplicates(transfer, lambda r: (r.task, r.schedule, r.arch, r.arm, r.budget, r.pretrain_seed,
                                                    r.seed, (r.conditional or {}).get("target")), warn)
    # an early export (tools/export.py of epoch k) sits beside the final one: keep the longest
    pretrain = drop_duplicates(pretrain, lambda r: (r.dataset, r.arch, r.arm, r.budget, r.seed), warn,
                               prefer=lambda r: (-(r.epochs or 0), r.path))
    return transfer, pretrain
