"""Issue 22, item 5: the schedule solvers refuse a cost they cannot reach (`--solve active`
included), exit non-zero and say the reachable range; gather names a missing metadata key
(the cost, shown as "–") once per file."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gather.collect import collect
from pretrain.schedule import DaRParams, simulate, solve_active, solve_keep

REPO = Path(__file__).resolve().parents[2]
IMAGENET = DaRParams(warmup=10, interval=2, keep=0.9, active=10, refresh=(30, 60, 90))


def test_solve_active_refuses_a_cost_below_what_any_window_gives():
    costs = [simulate(replace(IMAGENET, active=a), 120).cost for a in range(121)]
    low, high = min(costs), max(costs)
    with pytest.raises(ValueError, match=f"cost 0.2000 is out of reach of α .* from {low:.4f} to {high:.4f}"):
        solve_active(IMAGENET, 120, 0.2)
    assert solve_active(IMAGENET, 120, 0.86).active == 5  # reachable: still the closest α
    with pytest.raises(ValueError, match="out of reach of p"):
        solve_keep(IMAGENET, 120, 0.05)


@pytest.mark.e2e
def test_the_schedule_tool_exits_non_zero_with_the_reachable_range():
    done = subprocess.run([sys.executable, str(REPO / "tools" / "schedule.py"),
                           str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_dar.py"),
                           "--target-cost", "0.2", "--solve", "active"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "solved" not in done.stdout
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --target-cost 0.2 (--solve active): cost 0.2000 is out of reach of α")
    assert " from 0." in last and " to 1.0000 over " in last


def test_gather_names_a_missing_cost_key_once_per_file(tmp_path):
    results = {"format": "transfer-suite/results/v1", "task": "pspnet_tiny", "arm": "iid", "seed": 0,
               "pretrain": {"arch": "resnet18"}, "metrics": {"mIoU": 50.0}}
    for seed in (0, 1):
        path = tmp_path / f"seed{seed}" / "results.json"
        path.parent.mkdir()
        path.write_text(json.dumps({**results, "seed": seed}))
    export = tmp_path / "export" / "backbone.json"
    export.parent.mkdir()
    export.write_text(json.dumps({"format": "transfer-suite/backbone/v1", "dataset": "synthetic",
                                  "arch": "resnet18", "arm": "iid", "seed": 0}))
    warnings = []
    transfer, pretrain = collect(tmp_path, warn=warnings.append)
    assert len(transfer) == 2 and len(pretrain) == 1 and all(r.cost is None for r in [*transfer, *pretrain])
    assert sorted(warnings) == sorted([
        f"{tmp_path / 'seed0' / 'results.json'} has no 'pretrain.cost' key: its pre-train cost shows as '–'",
        f"{tmp_path / 'seed1' / 'results.json'} has no 'pretrain.cost' key: its pre-train cost shows as '–'",
        f"{export} has no 'cost' key: its pre-train cost shows as '–'"])
