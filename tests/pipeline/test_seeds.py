"""Pretraining runs as the unit: crossed pretraining × fine-tuning seeds in the plan, seed
offsets for an A/A arm, and a nested experiment end to end (variance.json, the planner's lines,
the frontier figure, tools/plan_seeds.py on its runs)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gather.collect import collect
from pipeline.experiment import load_experiment, make_plan
from pipeline.report import write_report
from pipeline.run import DONE, run_plan
from pretrain.config import load_config

REPO = Path(__file__).resolve().parents[2]
TINY_IID = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
TINY_OPTIONS = {"arch": "resnet10", "data.num_train": 64, "data.num_val": 16, "data.image_size": 16,
                "train.epochs": 2, "train.batch_size": 16, "train.milestones": [1], "val_interval": 2}


# the transfer tasks fine-tune ResNet-18 and up
TRANSFERABLE_OPTIONS = {"data.num_train": 64, "data.num_val": 16, "data.image_size": 32, "train.epochs": 2,
                        "train.batch_size": 32, "train.milestones": [1], "val_interval": 2}


def write_experiment(path: Path, body: str, options: dict = TINY_OPTIONS) -> str:
    path.write_text(f"pretrain_options = {options!r}\n" + body)
    return str(path)


def test_every_backbone_is_fine_tuned_with_every_seed(tmp_path):
    experiment = write_experiment(tmp_path / "crossed.py", (
        f"arms = dict(iid={TINY_IID!r}, again=dict(config={TINY_IID!r}, seed_offset=100), random_init=None)\n"
        "pretrain_seeds = [0, 1]\nseeds = [0, 1, 2]\nrandom_init_seeds = [0]\n"
        "tasks = dict(pspnet_tiny=dict(), simplebaseline_tiny=dict(seeds=[5]))\n"))
    plan = make_plan(load_experiment(experiment), tmp_path)
    pairs = {}
    for cell in plan.transfer:
        pairs.setdefault((cell.task, cell.arm), []).append((cell.pretrain_seed, cell.seed))
    assert pairs[("pspnet_tiny", "iid")] == [(p, s) for p in (0, 1) for s in (0, 1, 2)]
    assert pairs[("simplebaseline_tiny", "again")] == [(0, 5), (1, 5)]  # a task's own seeds
    assert pairs[("pspnet_tiny", "random_init")] == [(None, 0)]
    for cell in plan.transfer:
        if cell.source is not None:
            assert cell.source.arm == cell.arm and cell.source.seed == cell.pretrain_seed
            assert cell.work_dir == tmp_path / "crossed" / cell.name
    assert "transfer/pspnet_tiny/iid/pretrain1/seed2" in {c.name for c in plan.transfer}
    assert len({c.work_dir for c in plan.transfer}) == len(plan.transfer)
    again = [load_config(c.config, c.options) for c in plan.pretrain if c.arm == "again"]
    assert [(cfg["seed"], cfg["replicate"]) for cfg in again] == [(100, 0), (101, 1)]
    assert all("replicate" not in c.options for c in plan.pretrain if c.arm == "iid")  # hashes as before


def test_one_pretraining_seed_keeps_the_cell_names_of_before(tmp_path):
    experiment = write_experiment(tmp_path / "one.py", f"arms = dict(iid={TINY_IID!r})\nseeds = [0, 1]\n"
                                                        "tasks = dict(pspnet_tiny=dict())\n")
    plan = make_plan(load_experiment(experiment), tmp_path)
    assert [c.name for c in plan.transfer] == ["transfer/pspnet_tiny/iid/seed0", "transfer/pspnet_tiny/iid/seed1"]


def test_a_bad_seed_offset_is_an_error_naming_the_arm(tmp_path):
    experiment = write_experiment(tmp_path / "bad.py", f"arms = dict(b=dict(config={TINY_IID!r}, seed_offset='x'))\n")
    with pytest.raises(TypeError, match="arms.b.seed_offset"):
        make_plan(load_experiment(experiment), tmp_path)


@pytest.mark.e2e
def test_a_nested_a_a_experiment_reports_components_a_plan_and_a_frontier(tmp_path):
    experiment = write_experiment(tmp_path / "aa.py", (
        f"arms = dict(iid={TINY_IID!r}, iid_again=dict(config={TINY_IID!r}, seed_offset=1000))\n"
        "pretrain_seeds = [0, 1]\nseeds = [0, 1]\n"
        "tasks = dict(pspnet_tiny=dict(cfg_options={'train_cfg.max_iters': 2}))\n"
        "demo_data = dict(cityscapes=dict(num_train=4, num_val=2, seed=0))\n"), TRANSFERABLE_OPTIONS)
    plan = make_plan(load_experiment(experiment), tmp_path)
    assert set(run_plan(plan, log=lambda line: None).values()) == {DONE}
    rows, _ = collect(plan.root)
    assert sorted((r.arm, r.pretrain_seed, r.seed) for r in rows) == [
        (a, p, s) for a in ("iid", "iid_again") for p in (0, 1) for s in (0, 1)]
    report = write_report(plan, "test")
    text = report.read_text()
    variance = json.loads((report.parent / "variance.json").read_text())
    mIoU = variance["tasks"]["pspnet_tiny"]["mIoU"]
    assert set(mIoU["arms"]) == {"iid", "iid_again"} and mIoU["pooled"]["df_pretrain"] == 2
    assert mIoU["pooled"]["df_finetune"] == 4 and mIoU["design"] == {"pretrain_runs": 2, "finetune_seeds": 2}
    assert "over 2 pretraining runs per arm" in text and "## Where the spread comes from" in text
    assert "Seed planner (pooled spreads, measured wall-clock):" in text
    assert (report.parent / "frontier_pspnet_tiny.png").is_file() and "![frontier_pspnet_tiny]" in text
    # two iterations teach nothing, so every run gives the same mIoU: the planner says so, and
    # plans with given spreads at the runs' measured wall-clock
    plan_seeds = [sys.executable, str(REPO / "tools" / "plan_seeds.py"), str(plan.root), "--effect", "1.0", "--json"]
    if mIoU["pooled"]["sigma_finetune"] == 0 and mIoU["pooled"]["sigma_pretrain"] == 0:
        (entry,) = json.loads(subprocess.run(plan_seeds, capture_output=True, text=True, timeout=120).stdout)["tasks"]
        assert entry["error"].startswith("no spread measured")
    planned = subprocess.run(plan_seeds + ["--sigma-pretrain", "0.5", "--sigma-finetune", "0.5"],
                             capture_output=True, text=True, timeout=120)
    assert planned.returncode == 0, planned.stderr[-2000:]
    (entry,) = json.loads(planned.stdout)["tasks"]
    assert entry["task"] == "pspnet_tiny" and entry["configured"] == {**entry["configured"], "k": 2, "m": 2}
    assert entry["cost_pretrain"] == pytest.approx(mIoU["cost_s"]["pretrain"])
    # pretraining here is far cheaper than fine-tuning: one fine-tuning seed per backbone, k from the power
    assert (entry["k"], entry["m"]) == (10, 1) and entry["cost"] > 0
