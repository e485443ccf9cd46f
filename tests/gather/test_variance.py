"""gather.variance: components per arm, pooled over arms with pretraining runs, and the plan."""

from dataclasses import replace

import pytest

from gather.collect import TransferRow
from gather.stats import variance_components
from gather.variance import task_spreads, variance_lines, variance_report

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
