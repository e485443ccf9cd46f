"""Conditional pre-training end to end on generated data (configs/experiments/conditional_tiny.py,
smaller): subset selection → pretraining on the subset → the fine-grained linear probe on the
target → gather's table, in which a conditional method beats `random` at the same fraction."""

import json
from pathlib import Path

import pytest
import torch

from gather.render import render_md
from gather.tables import gather_tables
from pipeline.experiment import load_experiment, make_plan
from pipeline.run import DONE, run_plan

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "experiments" / "conditional_tiny.py")
# random vs one conditional method at 25% of the source, 48 px only, the linear probe only
SMALLER = {"selection.methods": ["random", "domain_classifier"], "selection.image_sizes": [48],
           "tasks": {"_delete_": True, "finegrained_linear_tiny": {}}}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 shared cores: one thread each runs faster than two spinning
    try:
        plan = make_plan(load_experiment(TINY, SMALLER), tmp_path_factory.mktemp("runs"))
        lines = []
        final = run_plan(plan, log=lines.append)
    finally:
        torch.set_num_threads(threads)
    return plan, final, lines


@pytest.mark.e2e
def test_the_plan_selects_pretrains_and_transfers_per_target(finished):
    plan, final, lines = finished
    assert [c.name for c in plan.selection] == ["selection/warm_shapes/random_0.25",
                                                "selection/warm_shapes/domain_classifier_0.25"]
    assert [c.arm for c in plan.pretrain] == ["random_0.25_48px_warm_shapes", "domain_classifier_0.25_48px_warm_shapes"]
    assert [c.name for c in plan.transfer] == [
        "transfer/finegrained_linear_tiny/warm_shapes/random_init/seed0",
        "transfer/finegrained_linear_tiny/warm_shapes/random_0.25_48px_warm_shapes/seed0",
        "transfer/finegrained_linear_tiny/warm_shapes/domain_classifier_0.25_48px_warm_shapes/seed0"]
    assert set(final.values()) == {DONE}, "\n".join(lines)


@pytest.mark.e2e  # its module fixture runs the pipeline
def test_the_export_carries_the_subset_and_the_selection_cost(finished):
    plan, _, _ = finished
    meta = json.loads((plan.pretrain[1].export_dir / "backbone.json").read_text())
    assert meta["subset"]["method"] == "domain_classifier" and meta["subset"]["size"] == 300
    assert meta["source_size"] == 1200 and meta["cost"] == pytest.approx(0.25)
    selection = meta["selection_cost"]
    # the target-trained domain classifier: 15 balanced epochs of 160 target + 160 source images
    # (forward and backward), then a pass over the 1200 source images, all at 48 px
    assert selection["backwards"] == 15 * 320 and selection["forwards"] == 15 * 320 + 1200
    assert selection["flops"] == (selection["forwards"] + 2 * selection["backwards"]) * selection["flops_per_forward"]
    assert selection["train_wall_clock_s"] > 0 and selection["wall_clock_s"] > selection["train_wall_clock_s"]
    # as a share of i.i.d. pretraining: 30 epochs × 1200 sample-steps × 3 forwards (a 2-way head: ~equal FLOPs)
    assert selection["cost"] == pytest.approx((15 * 320 * 3 + 1200) / (30 * 1200 * 3), rel=1e-3)
    assert meta["total_cost"] == pytest.approx(meta["cost_pixels"] + selection["cost"])
    random_meta = json.loads((plan.pretrain[0].export_dir / "backbone.json").read_text())
    assert random_meta["selection_cost"]["forwards"] == 0 and random_meta["total_cost"] == pytest.approx(0.25)


@pytest.mark.e2e  # its module fixture runs the pipeline
def test_a_conditional_method_beats_random_at_the_same_fraction(finished, capsys):
    plan, _, _ = finished
    tables, _ = gather_tables(plan.root)
    table = next(t for t in tables if t.spec.key == "CPT-finegrained_linear_tiny")
    text = render_md(table)
    top1 = {row.arm: row.values[0].mean for row in table.rows}
    assert set(top1) == {"random_init", "random", "domain_classifier"}, text
    margin = top1["domain_classifier"] - top1["random"]
    with capsys.disabled():
        print(f"\n{text}\ndomain_classifier − random at 25% of the source: {margin:+.1f} top-1 on the target")
    assert margin > 0, text


def test_the_paper_scale_plan_fine_tunes_each_target_with_its_recipe(tmp_path):
    plan = make_plan(load_experiment(str(REPO / "configs" / "experiments" / "conditional_pretraining.py")), tmp_path)
    options = {(c.task, c.target): c.cfg_options for c in plan.transfer}
    assert options[("finegrained_finetune", "stanford_cars")] == {"train.lr": 0.1}
    assert options[("finegrained_finetune", "cub_200")] == {"train.lr": 0.1}
    assert options[("finegrained_finetune", "fmow")] == {"train.optimizer": "adam", "train.lr": 1e-4}
    assert options[("finegrained_linear", "fmow")] == {}  # the probe keeps its config's recipe


def test_the_selfsup_plan_selects_on_moco_v2_features_learnt_on_each_target(tmp_path):
    from pretrain.selection_moco import moco_feature_settings

    plan = make_plan(load_experiment(str(REPO / "configs" / "experiments" / "conditional_selfsup.py")), tmp_path)
    assert len(plan.selection) == 4 * 3 * 2  # targets × methods × fractions
    for cell in plan.selection:
        settings = moco_feature_settings(cell.settings["feature_backbone"])
        assert settings is not None and settings["queue_size"] <= 5994  # under the smallest target (CUB)
    assert {c.selection.target for c in plan.pretrain if c.selection} == {"voc", "stanford_cars", "cub_200", "fmow"}
    # each target's subsets (and the whole-source arms) go to that target's own tasks only
    tasks_of = {}
    for cell in plan.transfer:
        tasks_of.setdefault(cell.target, set()).add(cell.task)
    assert tasks_of == {"voc": {"faster_rcnn_c4_voc", "psanet_voc"}, "stanford_cars": {"finegrained_finetune"},
                        "cub_200": {"finegrained_finetune"}, "fmow": {"finegrained_finetune"}}
    assert all(c.reads_target == (c.task == "finegrained_finetune") for c in plan.transfer)
    options = {(c.task, c.target): c.cfg_options for c in plan.transfer}
    recipe = {"train.epochs": 100, "train.lr": 0.001, "train.batch_size": 64}
    assert options[("finegrained_finetune", "cub_200")] == recipe
    assert options[("finegrained_finetune", "fmow")] == {**recipe, "train.optimizer": "adam"}
    assert options[("psanet_voc", "voc")] == {}


def test_a_target_s_tasks_must_be_the_experiment_s(tmp_path):
    bad = {"selection.targets.warm_shapes.tasks": ["finegrained_finetune"]}
    with pytest.raises(KeyError, match=r"warm_shapes\.tasks names \['finegrained_finetune'\], which are not in"):
        load_experiment(TINY, bad)


def test_the_selfsup_tiny_plan_selects_for_its_own_voc_scenes_and_transfers_on_them(tmp_path):
    """The target is the experiment's generated VOCdevkit (demo_data="voc"): the selection reads
    its images, the VOC tasks train on it as their data, not as a target's class folders."""
    plan = make_plan(load_experiment(str(REPO / "configs" / "experiments" / "selfsup_tiny.py")), tmp_path)
    [selection] = plan.selection
    assert selection.settings["feature_backbone"]["name"] == "moco_v2"
    assert plan.target_root("voc_scenes") == tmp_path / "selfsup_tiny" / "data" / "voc"  # ensure_demo_data's
    assert plan.targets["voc_scenes"]["demo_data_args"] == plan.demo_data["voc"]  # in the cells' hashes
    subset_arm = {c.arm for c in plan.pretrain if c.selection}
    assert subset_arm == {"clustering_avg_0.5_48px_voc_scenes"}
    assert {c.arm for c in plan.transfer} == {"moco_v2_iid", "moco_v2_dar", "random_init", *subset_arm}
    for cell in plan.transfer:
        assert cell.data_kind == "voc" and not cell.reads_target
        assert "subsets selected for target voc_scenes" in cell.describe(plan)
    tiny = make_plan(load_experiment(TINY, SMALLER), tmp_path / "conditional")
    assert all(c.reads_target for c in tiny.transfer)
    with pytest.raises(KeyError, match=r"voc_scenes\.demo_data='coco' names no kind of the experiment's demo_data"):
        load_experiment(str(REPO / "configs" / "experiments" / "selfsup_tiny.py"),
                        {"selection.targets.voc_scenes.demo_data": "coco"})
