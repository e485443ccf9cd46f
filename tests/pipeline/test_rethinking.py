"""The from-scratch protocol through the pipeline: a GroupNorm backbone pretrained for a few
seconds by stage 1, fine-tuned in mask_rcnn_gn_tiny at two schedules on the real COCO sample;
the plans of the rethinking_scratch experiments; tables per schedule and AP against iterations."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gather.collect import TransferRow, collect
from gather.headline import headline_section
from gather.plots import iteration_curves
from gather.render import render
from gather.tables import build_tables
from pipeline.experiment import load_experiment, make_plan
from pipeline.report import write_report
from pipeline.run import DONE, run_plan

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = REPO / "configs" / "experiments"
# A few seconds of GroupNorm pretraining; 1x = 2 iterations (lr x0.1 after the first), 2x = 4 (after 2)
FAST = {
    "pretrain_options": {"data.num_train": 64, "data.num_val": 16, "data.image_size": 32, "train.epochs": 1,
                         "train.batch_size": 16, "val_interval": 1},
    "tasks": {"mask_rcnn_gn_tiny": dict(schedules=["1x", "2x"], arms=["iid"], cfg_options={
        "train_cfg.max_iters": 2,
        "param_scheduler": [dict(type="MultiStepLR", by_epoch=False, begin=0, end=2, milestones=[1], gamma=0.1)]})},
}


@pytest.mark.e2e
def test_a_gn_pretrained_backbone_fine_tunes_in_mask_rcnn_gn_at_two_schedules(tmp_path):
    cfg = load_experiment(str(EXPERIMENTS / "rethinking_scratch_tiny.py"), FAST)
    cfg.demo_data = None  # the real COCO sample in ../shared/data, the tiny config's default
    plan = make_plan(cfg, tmp_path)
    assert [c.name for c in plan.cells] == ["pretrain/iid/seed0", "transfer/mask_rcnn_gn_tiny/1x/iid/seed0",
                                            "transfer/mask_rcnn_gn_tiny/2x/iid/seed0"]
    assert set(run_plan(plan, log=lambda line: None).values()) == {DONE}
    for cell, iters, milestones in zip(plan.transfer, (2, 4), ([1], [2]), strict=True):
        results = json.loads((cell.work_dir / "results.json").read_text())
        protocol = results["protocol"]
        assert (protocol["schedule"], protocol["train_iters"], protocol["lr_milestones"]) == (
            cell.schedule, iters, milestones)
        assert protocol["norm_cfg"]["type"] == "GN" and protocol["frozen_stages"] == -1
        assert results["pretrain"]["norm"] == "gn"
        assert results["backbone_contract"] == {"tensors_loaded": 60, "unexpected_keys": []}
    transfer, _ = collect(plan.root)
    assert sorted((r.schedule, r.iterations) for r in transfer) == [("1x", 2), ("2x", 4)]
    report = write_report(plan, "test")
    assert (report.parent / "ap_vs_iterations_mask_rcnn_gn_tiny_resnet18.png").is_file()
    text = report.read_text()
    assert "| Mask R-CNN (GN) (tiny) 1x | R-18 (i.i.d.) |" in text
    assert "| Mask R-CNN (GN) (tiny) 2x | R-18 (i.i.d.) |" in text


@pytest.mark.e2e
def test_the_dry_runs_print_the_scaled_iterations_of_1x_3x_6x(tmp_path):
    tiny = make_plan(load_experiment(str(EXPERIMENTS / "rethinking_scratch_tiny.py")), tmp_path)
    lines = {c.name: c.schedule_text() for c in tiny.transfer}
    assert lines["transfer/mask_rcnn_gn_tiny/1x/iid/seed0"] == "1x: 9 iterations, lr x0.1 at 6, 8"
    assert lines["transfer/mask_rcnn_gn_tiny/3x/random_init/seed0"] == (
        "3x: 27 iterations, lr x0.1 at 21, 25 (1x: 9, at 6, 8)")
    assert lines["transfer/mask_rcnn_gn_tiny/6x/iid/seed0"].startswith("6x: 54 iterations, lr x0.1 at 48, 52")
    assert len(tiny.pretrain) == 1 and len(tiny.transfer) == 6
    dry = subprocess.run([sys.executable, str(REPO / "tools" / "pipeline.py"),
                          str(EXPERIMENTS / "rethinking_scratch.py"), "--dry-run", "--runs-root", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr[-2000:]
    for schedule, text in [("1x", "90000 iterations, lr x0.1 at 60000, 80000"),
                           ("3x", "270000 iterations, lr x0.1 at 210000, 250000"),
                           ("6x", "540000 iterations, lr x0.1 at 480000, 520000")]:
        for arm in ("iid", "dar", "random_init"):
            line = next(ln for ln in dry.stdout.splitlines() if f"transfer/mask_rcnn_gn/{schedule}/{arm}/seed0" in ln)
            assert f"schedule {schedule}: {text}" in line


def test_task_arms_and_schedules_are_checked(tmp_path):
    plan = make_plan(load_experiment(str(EXPERIMENTS / "resnet50_imagenet_transfer.py")), tmp_path)
    scratch = [c for c in plan.transfer if c.arm == "random_init" and c.task != "pspnet"]
    assert {(c.task, c.schedule) for c in scratch} == {("fpn_gn", "6x"), ("mask_rcnn_gn", "6x")}
    assert {c.task for c in plan.transfer if c.arm == "dar-budget"} == {"fpn", "mask_rcnn", "pspnet"}
    for tasks, error in [({"pspnet_tiny": dict(schedules=["3x"])}, "pspnet_tiny.schedules: a semantic"),
                         ({"fpn_tiny": dict(schedules=["5x"])}, "unknown \\['5x'\\]"),
                         ({"fpn_tiny": dict(arms=["dat"])}, "fpn_tiny.arms: unknown arm")]:
        experiment = tmp_path / "bad.py"
        experiment.write_text(f"arms = dict(random_init=None)\ntasks = {tasks!r}\n")
        with pytest.raises((KeyError, ValueError), match=error):
            make_plan(load_experiment(str(experiment)), tmp_path)


def _row(arm, schedule, iterations, ap, seed=0, task="mask_rcnn_gn"):
    return TransferRow(task=task, arm=arm, seed=seed, arch="resnet50", cost=0.0 if arm == "random_init" else 1.0,
                       metrics={"coco/bbox_mAP": ap}, config_hash=None, pretrain_dataset=None, path=f"{arm}{schedule}",
                       schedule=schedule, iterations=iterations)


def test_rows_are_grouped_per_schedule_and_curves_drawn_per_initialisation():
    rows = [_row("iid", "1x", 90000, 0.38), _row("iid", "3x", 270000, 0.40), _row("iid", "3x", 270000, 0.42, seed=1),
            _row("random_init", "1x", 90000, 0.29), _row("random_init", "3x", 270000, 0.39)]
    tables, _ = build_tables(rows, [])
    groups = [r.group for r in tables[0].rows if r.kind == "delta"]
    assert groups == ["Mask R-CNN (GN) 1x R-50", "Mask R-CNN (GN) 3x R-50"]  # no Δ across schedules
    curves = iteration_curves(rows)[("mask_rcnn_gn", "resnet50")]
    assert list(curves) == ["iid", "random_init"]
    assert [(p.iterations, p.schedule, round(p.ap, 1), p.seeds) for p in curves["iid"]] == [
        (90000, "1x", 38.0, 1), (270000, "3x", 41.0, 2)]
    assert iteration_curves([r for r in rows if r.schedule == "1x"]) == {}  # one schedule: no curve


def test_a_random_init_anchor_at_another_protocol_is_compared_only_with_a_caveat():
    rows = [_row("iid", "1x", None, 0.37, task="mask_rcnn"), _row("random_init", "6x", 540000, 0.36)]
    lines = headline_section(rows, "iid")
    assert lines[0].startswith("- **mask_rcnn 1x, box AP**")
    (gap,) = (ln for ln in lines if "above random init" in ln)
    assert gap.startswith("  - above random init (36.0), difference of means: i.i.d. +1.0 (random init trained "
                          "mask_rcnn_gn at 6x") and "not an equal-schedule comparison" in gap
    text = render(build_tables(rows, [])[0], "md")
    assert "| Mask R-CNN 1x | R-50 (i.i.d.) |" in text and "| Mask R-CNN (GN) 6x | R-50 (random init) |" in text
    assert "| Δ" not in text  # different tasks and schedules: no Δ row between them
