"""Where an experiment's time went, per cell: `tools/pipeline.py EXPERIMENT --timing`.

Reads what the cells recorded (common.timing): results.json `timing` of a transfer cell,
backbone.json `timing` of a pretraining cell, and status.json's started/finished (the cell as
the pipeline ran it, its hash and lock included). Pure reading: nothing is run or written.
"""

from __future__ import annotations

from common.timing import EVAL_PHASES, STARTUP_PHASES
from pipeline.cells import Cell
from pipeline.experiment import Plan
from pipeline.run import read_status

COLUMNS = ("cell_s", "startup_s", "train_s", "data_s", "compute_s", "other_s", "eval_s", "outside_s")


def cell_timing(cell: Cell) -> dict | None:
    """{column: seconds} of one finished cell, or None when it recorded no timing (not run
    yet, a selection cell, or written before timings were recorded)."""
    timing = cell.timing()
    if timing is None:
        return None
    status = read_status(cell)

    def get(key):
        return float(timing.get(key) or 0.0)

    run_s = get("total_s") or sum(get(k) for k in (*STARTUP_PHASES, "train_s", *EVAL_PHASES))
    row = {"startup_s": sum(get(k) for k in STARTUP_PHASES), "train_s": get("train_s"),
           "data_s": get("train_data_s"), "compute_s": get("train_compute_s"), "other_s": get("train_other_s"),
           "eval_s": sum(get(k) for k in EVAL_PHASES)}
    if status.get("started") and status.get("finished"):
        row["cell_s"] = float(status["finished"]) - float(status["started"])
        row["outside_s"] = row["cell_s"] - run_s  # the pipeline's own work and what the run did not time
    return row


def timing_table(plan: Plan) -> str:
    """One line per finished cell with its breakdown in seconds, then the sums and shares."""
    header = f"{'cell':<44} " + " ".join(f"{c[:-2]:>8}" for c in COLUMNS)
    lines = ["seconds per cell: start-up (imports, config/backbone/data checks, datasets, model, Runner and its "
             "set-up), training (data: waiting for batches; compute: the steps with their hooks; other: the rest of "
             "the loop), evaluation (validation, test inference, the metric), outside (the pipeline's own work)",
             header]
    totals = dict.fromkeys(COLUMNS, 0.0)
    missing = []
    for cell in plan.cells:
        row = cell_timing(cell)
        if row is None:
            if cell.records_timing:
                missing.append(cell.name)
            continue
        for column in COLUMNS:
            totals[column] += row.get(column, 0.0)
        lines.append(f"{cell.name:<44} " + " ".join(
            f"{row[c]:>8.1f}" if c in row else f"{'-':>8}" for c in COLUMNS))
    lines.append(f"{'sum':<44} " + " ".join(f"{totals[c]:>8.1f}" for c in COLUMNS))
    if totals["cell_s"]:
        lines.append(f"{'share of the cells time':<44} " + " ".join(
            f"{100 * totals[c] / totals['cell_s']:>7.1f}%" for c in COLUMNS))
    if missing:
        lines.append(f"no timing recorded (not finished, or finished before timings were recorded): "
                     f"{len(missing)} cell(s)")
    return "\n".join(lines)
