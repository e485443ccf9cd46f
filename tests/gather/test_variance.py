"""gather.variance: components per arm, pooled over arms with pretraining runs, and the plan."""

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gather.collect import TransferRow
from gather.planner import cheapest_design
from gather.stats import variance_components
from gather.variance import planner_sentence, task_spreads, variance_lines, variance_report

REPO = Path(__file__).resolve().parents[2]

# mIoU per (pretraining seed, fine-tuning seed): each backbone shifts its runs, the seeds spread them
NESTED = {
    "iid": {(0, 0): 70.0, (0, 1): 71.0, (1, 0): 72.5, (1, 1): 73.0, (2, 0): 69.0, (2, 1): 70.5},
    "dar": {(0, 0): 71.0, (0, 1): 70.0, (1, 0): 74.0, (1, 1): 72.0, (2, 0): 70.0, (2, 1): 71.5},
}


def nested_rows():
    rows = []
    for arm, values in NESTED.items():
        for (pretrain_seed, seed), miou in values.items():
            rows.append(TransferRow(task="pspnet", arm=arm, seed=seed, arch="resnet50", cost=1.0,
                                    metrics={"mIoU": miou}, config_hash=None, pretrain_dataset="imagenet",
                                    path=f"/x/{arm}/{pretrain_seed}/{seed}/results.json",
                                    pretrain_seed=pretrain_seed, wall_clock_s=10.0,
                                    pretrain_wall_clock_s=100.0 + pretrain_seed))
    rows.append(replace(rows[0], arm="random_init", pretrain_dataset=None, pretrain_seed=None,
                        pretrain_wall_clock_s=None, path="/x/random_init/0/results.json"))
    return rows


def test_each_arm_gets_its_own_components_and_the_pooled_ones_cover_the_replicated_arms():
    (spread,) = task_spreads(nested_rows())
    assert spread.metric == "mIoU"
    assert set(spread.arms) == {"iid", "dar", "random_init"}
    assert spread.arms["iid"] == variance_components(NESTED["iid"])
    assert spread.pooled_arms == ("iid", "dar")  # random init has no pretraining runs to pool
    assert spread.pooled.backbones == 6 and spread.pooled.runs == 12
    assert (spread.pretrain_runs, spread.finetune_seeds) == (3, 2)
    assert spread.cost_pretrain_s == pytest.approx(101.0)  # three backbones per arm, 100-102 s
    assert spread.cost_finetune_s == pytest.approx(10.0)


def test_the_report_json_and_markdown_carry_the_pooled_spread_and_a_plan():
    rows = nested_rows()
    report = variance_report(rows, baseline="iid")
    entry = report["tasks"]["pspnet"]["mIoU"]
    assert entry["pooled_over"] == ["iid", "dar"]
    assert entry["design"] == {"pretrain_runs": 3, "finetune_seeds": 2}
    text = "\n".join(variance_lines(rows))
    assert "| pooled (" in text
    assert "Seed planner" in text and "as run (3 × 2) it detects" in text


# One backbone per arm (the quick demo's design): fine-tuning seeds measure σ_finetune only
ONE_BACKBONE = {"iid": {0: 70.0, 1: 72.0}, "dar": {0: 71.0, 1: 74.0}}


def one_backbone_rows():
    rows = []
    for arm, values in ONE_BACKBONE.items():
        for seed, miou in values.items():
            rows.append(TransferRow(task="pspnet", arm=arm, seed=seed, arch="resnet50", cost=1.0,
                                    metrics={"mIoU": miou}, config_hash=None, pretrain_dataset="imagenet",
                                    path=f"/x/{arm}/{seed}/results.json", pretrain_seed=None,
                                    wall_clock_s=10.0, pretrain_wall_clock_s=100.0))
    return rows


def test_one_backbone_per_arm_measures_sigma_finetune_and_the_plan_is_bounded_not_invented():
    (spread,) = task_spreads(one_backbone_rows())
    assert spread.pooled_arms == ("iid", "dar") and (spread.pretrain_runs, spread.finetune_seeds) == (1, 2)
    assert spread.pooled.sigma_pretrain is None and spread.pooled.df_pretrain == 0
    # within-backbone sums of squares 2 + 4.5 on 2 df
    assert spread.pooled.sigma_finetune == pytest.approx((6.5 / 2) ** 0.5)
    sentence = planner_sentence(spread)
    assert sentence.startswith("σ_pretrain not measured (one pretraining run per arm")
    assert "σ_pretrain = 0, the least any design needs" in sentence and "assumed" in sentence
    assert "cannot test a method-level claim" in sentence
    # the assumed spread can only ask for more runs than σ_pretrain = 0
    sigma_f = spread.pooled.sigma_finetune
    fewest = cheapest_design(1.0, 0.0, sigma_f, 100.0, 10.0)
    assumed = cheapest_design(1.0, sigma_f, sigma_f, 100.0, 10.0)
    assert fewest.cost < assumed.cost
    assert f"{fewest.pretrain_runs} pretraining runs × {fewest.finetune_seeds} fine-tuning seeds" in sentence
    assert f"{assumed.pretrain_runs} pretraining runs × {assumed.finetune_seeds} fine-tuning seeds" in sentence


@pytest.mark.e2e
def test_plan_seeds_on_one_backbone_per_arm_prints_both_scenarios(tmp_path):
    for arm, values in ONE_BACKBONE.items():
        for seed, miou in values.items():
            path = tmp_path / "pspnet_tiny" / arm / f"seed{seed}" / "results.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps({
                "format": "transfer-suite/results/v1", "task": "pspnet_tiny", "arm": arm, "seed": seed,
                "backbone": f"/runs/{arm}/backbone.pth", "metrics": {"mIoU": miou}, "protocol": {},
                "pretrain": {"arch": "resnet18", "arm": arm, "cost": 1.0, "wall_clock_s": 100.0},
                "config_hash": "0123456789abcdef", "versions": {}, "wall_clock_s": 10.0, "work_dir": "/tmp"}))
    command = [sys.executable, str(REPO / "tools" / "plan_seeds.py"), str(tmp_path), "--effect", "1.0"]
    proc = subprocess.run(command + ["--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    (entry,) = json.loads(proc.stdout)["tasks"]
    assert entry["sigma_pretrain"] is None and "error" not in entry
    fewest, assumed = entry["scenarios"]
    assert fewest["assumed_sigma_pretrain"] == 0.0 and assumed["assumed_sigma_pretrain"] == fewest["sigma_finetune"]
    assert fewest["k"] is not None and fewest["cost"] < assumed["cost"]
    assert fewest["configured"]["minimum_detectable_effect"] is None  # k = 1: no test over pretraining runs
    text = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    assert "σ_pretrain not measured" in text and text.count("pretraining runs × m =") == 2
