"""The pipeline end to end on a smaller demo: every stage for real (mmengine, mmdet, mmseg,
mmpose), a re-run that skips finished cells, a failed cell that does not stop the others,
and the plan and experiment-config checks."""

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gather.render import render
from gather.tables import gather_tables
from pipeline.experiment import load_experiment, make_plan
from pipeline.report import write_report
from pipeline.run import DONE, FAILED, PENDING, run_plan, state_of, status_table
from pretrain.config import load_config
from transfer.tasks import TASKS

REPO = Path(__file__).resolve().parents[2]
DEMO = str(REPO / "configs" / "experiments" / "demo.py")

# The demo, smaller: 96 shapes of 32 px for 4 epochs (DaR drops once: cost 95%),
# 2 iterations per task, one seed, 8+4 COCO scenes and 4+2 Cityscapes frames.
SMALL = {
    "name": "small_demo",
    "pretrain_seeds": [0],
    "seeds": [0],
    "pretrain_options": {"data.num_train": 96, "data.num_val": 16, "data.image_size": 32,
                         "train.epochs": 4, "train.batch_size": 32, "val_interval": 4},
    "demo_data": dict(coco=dict(num_train=8, num_val=4, image_size=96, seed=0),
                      cityscapes=dict(num_train=4, num_val=2, seed=0)),
}
TINY_IID = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
TINY_DAR = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_dar.py")
CONTROL_OPTIONS = {"arch": "resnet10", "data.num_train": 64, "data.num_val": 16, "data.image_size": 16,
                   "train.epochs": 4, "train.batch_size": 16, "train.milestones": [3], "val_interval": 4}
FOUR_TASKS = {f"{t}_tiny": dict(cfg_options={"train_cfg.max_iters": 2})
              for t in ("fpn", "mask_rcnn", "pspnet", "simplebaseline")}


def small_plan(root, tasks=FOUR_TASKS):
    return make_plan(load_experiment(DEMO, {**SMALL, "tasks": tasks}), root)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    plan = small_plan(root)
    lines = []
    final = run_plan(plan, log=lines.append)
    report = write_report(plan, "test")
    return plan, final, lines, report


@pytest.mark.e2e
def test_every_cell_of_the_small_demo_finishes(finished):
    plan, final, lines, _ = finished
    assert len(plan.pretrain) == 2 and len(plan.transfer) == 12
    assert set(final.values()) == {DONE}, "\n".join(lines)
    for cell in plan.transfer:
        results = json.loads((cell.work_dir / "results.json").read_text())
        assert results["arm"] == cell.arm and results["task"] == cell.task
        expected_cost = {"iid": 1.0, "dar": 0.95, "random_init": 0.0}[cell.arm]
        assert results["pretrain"]["cost"] == pytest.approx(expected_cost, abs=0.01)


@pytest.mark.e2e  # its module fixture runs the pipeline
def test_report_has_the_four_tables_and_the_random_init_comparison(finished):
    plan, _, _, report = finished
    text = report.read_text()
    for heading in ("T5", "T6", "T7"):
        assert heading in text
    assert "random init" in text and "Pre-train Cost" in text
    assert "![tsne_synthetic](tsne_synthetic.png)" in text  # the paper's Figure 2, i.i.d. vs DaR
    assert "above random init" in text and "**pspnet_tiny, mIoU**" in text
    assert list(report.parent.glob("*.png"))


@pytest.mark.e2e  # its module fixture runs the pipeline
def test_progress_lines_print_each_tasks_headline_metric(finished):
    _, _, lines, _ = finished
    done = {task: [ln for ln in lines if f"transfer/{task}/" in ln and ": done in " in ln]
            for task in ("fpn_tiny", "mask_rcnn_tiny", "pspnet_tiny", "simplebaseline_tiny")}
    assert all(" box AP " in ln for ln in done["fpn_tiny"])
    assert all(" box AP " in ln and ", mask AP " in ln for ln in done["mask_rcnn_tiny"])
    assert all(" mIoU " in ln for ln in done["pspnet_tiny"])
    assert all(" keypoint AP " in ln for ln in done["simplebaseline_tiny"])


def transfer_seeds(plan) -> dict:
    seeds = {}
    for cell in plan.transfer:
        seeds.setdefault((cell.task, cell.arm), []).append((cell.pretrain_seed, cell.seed))
    return seeds


def test_the_demo_fine_tunes_one_backbone_per_arm_twice_and_random_init_once(tmp_path):
    plan = make_plan(load_experiment(DEMO), tmp_path)
    seeds = transfer_seeds(plan)
    assert len(plan.pretrain) == 2 and len(seeds) == 12 and len(plan.cells) == 22
    for (task, arm), values in seeds.items():
        assert values == ([(None, 0)] if arm == "random_init" else [(0, 0), (0, 1)]), (task, arm)


def test_the_crossed_demo_crosses_two_backbones_per_arm_with_two_seeds_and_one_from_scratch(tmp_path):
    crossed = load_experiment(str(REPO / "configs" / "experiments" / "demo_crossed.py"))
    plan = make_plan(crossed, tmp_path)
    seeds = transfer_seeds(plan)
    assert len(plan.pretrain) == 4 and len(seeds) == 12 and len(plan.cells) == 40
    for (task, arm), values in seeds.items():
        expected = [(None, 0)] if arm == "random_init" else [(0, 0), (0, 1), (1, 0), (1, 1)]
        assert values == expected, (task, arm)
    # the demo's arms and data; the tasks as its documented numbers were measured, where the demo
    # has moved on to cheaper settings (mmcv's RoIAlign kernel, 128 RoIs, 128-px crops, 120 iterations)
    demo = load_experiment(DEMO)
    assert crossed.arms == demo.arms and crossed.demo_data == demo.demo_data
    box, mask = ("model.roi_head.bbox_roi_extractor.roi_layer.type", "model.roi_head.mask_roi_extractor.roi_layer.type")
    assert crossed.tasks == {
        "fpn_tiny": {"cfg_options": {"train_cfg.max_iters": 60, box: "RoIAlign"}},
        "mask_rcnn_tiny": {"cfg_options": {"train_cfg.max_iters": 60, box: "RoIAlign", mask: "RoIAlign"}},
        "pspnet_tiny": {"cfg_options": {"train_cfg.max_iters": 300}},
        "simplebaseline_tiny": {"cfg_options": {"train_cfg.max_iters": 120}},
    }
    # so the pretraining cells are shared: the same hashes
    crossed_plan = {c.name: c.hash(plan) for c in plan.pretrain}
    demo_plan = make_plan(demo, tmp_path / "demo")
    assert {c.name: c.hash(demo_plan) for c in demo_plan.pretrain}.items() <= crossed_plan.items()


@pytest.mark.e2e  # its module fixture runs the pipeline
def test_rerun_skips_finished_cells(finished):
    plan, _, _, _ = finished
    lines = []
    final = run_plan(small_plan(plan.root.parent), log=lines.append)
    assert set(final.values()) == {DONE}
    assert all(line.endswith("done, skipped") for line in lines), lines


@pytest.mark.e2e  # its module fixture runs the pipeline
def test_a_changed_config_reruns_only_its_cells(finished):
    plan, _, _, _ = finished
    changed = small_plan(plan.root.parent, {**FOUR_TASKS, "pspnet_tiny": dict(cfg_options={"train_cfg.max_iters": 3})})
    states = {c.name: state_of(c, changed) for c in changed.cells}
    assert {n for n, s in states.items() if s == PENDING} == {
        f"transfer/pspnet_tiny/{arm}/seed0" for arm in ("iid", "dar", "random_init")}


@pytest.mark.e2e
def test_a_failed_cell_keeps_its_error_and_does_not_stop_the_others(tmp_path):
    experiment = tmp_path / "failing.py"
    experiment.write_text(
        "arms = dict(random_init=None)\n"
        f"demo_data = {SMALL['demo_data']!r}\n"
        "tasks = dict(simplebaseline_tiny=dict(cfg_options={'model.head.type': 'NoSuchHead'}),\n"
        "             pspnet_tiny=dict(cfg_options={'train_cfg.max_iters': 1}))\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    final = run_plan(plan, log=lambda line: None)
    assert final == {"transfer/pspnet_tiny/random_init/seed0": DONE,
                     "transfer/simplebaseline_tiny/random_init/seed0": FAILED}
    failed = plan.transfer[0]
    assert "NoSuchHead" in (failed.work_dir / "error.txt").read_text()
    table = status_table(plan)
    assert "failed      transfer/simplebaseline_tiny/random_init/seed0" in table and "1 done" in table


def test_experiment_config_errors_name_the_key(tmp_path):
    with pytest.raises(KeyError, match="armz"):
        load_experiment(DEMO, {"armz": {}})
    with pytest.raises(KeyError, match="no_such_task"):
        make_plan(load_experiment(DEMO, {"tasks": {"no_such_task": {}}}), tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.py"):
        load_experiment(str(tmp_path / "missing.py"))


@pytest.mark.e2e
def test_cli_dry_run_and_status_print_every_cell(tmp_path):
    for flag in ("--dry-run", "--status"):
        out = subprocess.run([sys.executable, str(REPO / "tools" / "pipeline.py"), DEMO, flag,
                              "--runs-root", str(tmp_path)], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        assert out.stdout.count("pending") >= 14


def test_a_change_in_a_base_config_file_changes_the_cell_hash(tmp_path, monkeypatch):
    # The hash covers the resolved config (every _base_ level), not one file's text.
    tiny = TASKS["fpn_tiny"]
    base_name = "faster_rcnn_r50_fpn_1x_coco.py"
    for name in (tiny.config.name, base_name):
        shutil.copy(tiny.config.parent / name, tmp_path / name)
    monkeypatch.setitem(TASKS, "fpn_tiny", dataclasses.replace(tiny, config=tmp_path / tiny.config.name))
    experiment = tmp_path / "one.py"
    experiment.write_text("arms = dict(random_init=None)\ntasks = dict(fpn_tiny=dict())\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    before = plan.transfer[0].hash(plan)
    assert plan.transfer[0].hash(plan) == before
    with open(tmp_path / base_name, "a") as base:
        base.write("\nlog_level = 'DEBUG'\n")
    assert plan.transfer[0].hash(plan) != before


def write_controls_experiment(path: Path, tasks: str = "dict()") -> Path:
    dar = path.parent / "dar_4e.py"  # DaR at 4 epochs: W=1, I=1, p=0.75, α=3, R={3}
    dar.write_text(f"_base_ = {TINY_DAR!r}\n"
                   "arm = dict(name='dar', warmup=1, interval=1, keep=0.75, active=3, refresh=[3])\n")
    path.write_text(
        f"arms = dict(iid={TINY_IID!r}, dar=dict(config={str(dar)!r}, controls=['random_drop', 'budget']))\n"
        f"pretrain_options = {dict(CONTROL_OPTIONS, arch='resnet18')!r}\n"  # resnet10 has no toolbox twin
        f"pretrain_seeds = [0, 1]\nseeds = [0, 1]\ntasks = {tasks}\n")
    return path


@pytest.mark.e2e
def test_controls_are_planned_at_the_arm_s_cost_through_every_task(tmp_path):
    experiment = write_controls_experiment(tmp_path / "controls.py", "dict(pspnet_tiny=dict(), fpn_tiny=dict())")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    arms = ["iid", "dar", "dar-random_drop", "dar-budget"]
    assert [c.arm for c in plan.pretrain] == [a for a in arms for _ in (0, 1)]
    assert len(plan.transfer) == 2 * len(arms) * 2 * 2  # tasks × arms × pretraining seeds × fine-tuning seeds
    budget = next(c for c in plan.pretrain if c.arm == "dar-budget")
    cfg = load_config(budget.config, budget.options)
    # DaR at 4 epochs, W=1, I=1, p=0.75, α=3, R={3}: kept 1, 1, 0.75, 1 -> cost 0.9375
    assert dict(cfg["arm"]) == {"name": "budget", "budget": 0.9375}
    assert cfg["label"] == "dar-budget" and cfg["control_of"] == "dar"
    drop = load_config(*next((c.config, c.options) for c in plan.pretrain if c.arm == "dar-random_drop"))
    dar = next(c for c in plan.pretrain if c.arm == "dar")
    assert dict(drop["arm"]) == {**load_config(dar.config, dar.options)["arm"], "name": "random_drop"}
    dry = subprocess.run([sys.executable, str(REPO / "tools" / "pipeline.py"), str(experiment), "--dry-run",
                          "--runs-root", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "transfer/pspnet_tiny/dar-budget/pretrain1/seed1" in dry.stdout
    assert "pretrain/dar-random_drop/seed0" in dry.stdout


@pytest.mark.e2e
def test_an_arm_with_controls_is_compared_with_them_at_equal_cost(tmp_path):
    plan = make_plan(load_experiment(str(write_controls_experiment(tmp_path / "controls.py"))), tmp_path)
    final = run_plan(plan, log=lambda line: None)
    assert set(final.values()) == {DONE}
    tables, _ = gather_tables(plan.root)
    text = render(tables, "md")
    costs = {c.arm: json.loads((c.export_dir / "backbone.json").read_text())["cost"] for c in plan.pretrain}
    assert costs["dar"] == costs["dar-random_drop"] == pytest.approx(0.9375, abs=0.02)
    assert costs["dar-budget"] == pytest.approx(costs["dar"], abs=0.02)
    for label in ("Δ DaR − random drop at DaR cost", "Δ DaR − budget at DaR cost", "Δ DaR − i.i.d."):
        assert label in text
    control_rows = [r for r in tables[0].rows if r.kind == "control_delta"]
    assert len(control_rows) == 2 and all(v.n == 2 for r in control_rows for v in r.values)  # paired, with intervals


@pytest.mark.e2e
def test_the_budgeted_cifar_experiment_plans_every_method_at_every_budget(tmp_path):
    experiment = str(REPO / "configs" / "experiments" / "budgeted_cifar.py")
    plan = make_plan(load_experiment(experiment), tmp_path)
    budgeted = [f"{m}_b{b}" for m in ("budget", "unif_sgd", "p_sgd", "c_sgd", "selective_backprop",
                                      "unif_sgd_ricap", "unif_sgd_mixup", "unif_sgd_randaugment", "p_sgd_ricap",
                                      "c_sgd_ricap")
                for b in ("0.2", "0.3", "0.5")]
    expected = {"iid", "infobatch", "dar", "dar-random_drop", "dar-budget", *budgeted}
    assert {c.arm for c in plan.pretrain} == expected
    assert len(plan.pretrain) == len(expected) * 2 * 3  # CIFAR-10 and CIFAR-100, three seeds
    cell = next(c for c in plan.pretrain if c.arm == "p_sgd_b0.2" and c.variant == "cifar100")
    cfg = load_config(cell.config, cell.options)
    assert cfg["arm"]["budget"] == 0.2 and cfg["label"] == "p_sgd" and cfg["data"]["type"] == "cifar100"
    ricap = load_config(*next((c.config, c.options) for c in plan.pretrain if c.arm == "unif_sgd_ricap_b0.3"))
    assert ricap["augment"]["mix"] == "ricap" and ricap["arm"]["name"] == "unif_sgd"
    randaugment = next(c for c in plan.pretrain if c.arm == "unif_sgd_randaugment_b0.3")
    assert load_config(randaugment.config, randaugment.options)["augment"]["randaugment"] == dict(
        num_ops=2, magnitude=4, variant="arazo")
    dry = subprocess.run([sys.executable, str(REPO / "tools" / "pipeline.py"), experiment, "--dry-run",
                          "--runs-root", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert dry.returncode == 0, dry.stderr[-2000:]
    for name in ("pretrain/cifar10_iid/seed0", "pretrain/cifar100_dar-budget/seed2",
                 "pretrain/cifar10_infobatch/seed1", "pretrain/cifar10_selective_backprop_b0.5/seed0"):
        assert name in dry.stdout


@pytest.mark.e2e
def test_a_tiny_budgeted_experiment_gathers_methods_by_budgets(tmp_path):
    presets = REPO / "configs" / "pretrain"
    experiment = tmp_path / "budgeted.py"
    experiment.write_text(
        "arms = dict(" + ", ".join(f"{m}={str(presets / f'resnet18_shapes_tiny_{m}.py')!r}"
                                   for m in ("iid", "unif_sgd", "selective_backprop", "infobatch")) + ")\n"
        f"budgets = [0.3, 0.6]\npretrain_options = {CONTROL_OPTIONS!r}\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    assert [c.arm for c in plan.pretrain] == ["iid", "unif_sgd_b0.3", "unif_sgd_b0.6", "selective_backprop_b0.3",
                                               "selective_backprop_b0.6", "infobatch"]
    assert set(run_plan(plan, log=lambda line: None).values()) == {DONE}
    tables, _ = gather_tables(plan.root)
    table = next(t for t in tables if t.spec.key == "Synthetic-budget")
    assert table.spec.columns == ("Method", "Backbone", "budget 0.3", "budget 0.6", "own cost")
    cells = {row.labels[0]: row.values for row in table.rows}
    assert list(cells) == ["i.i.d.", "unif-SGD", "selective backprop", "InfoBatch"]
    assert cells["unif-SGD"][0].cost == pytest.approx(0.3, abs=0.02) and cells["unif-SGD"][2].summary is None
    assert 0 < cells["selective backprop"][0].cost <= 0.3 and 0 < cells["selective backprop"][1].cost <= 0.6
    assert cells["i.i.d."][2].cost == 1.0 and 0 < cells["InfoBatch"][2].cost < 1
    text = render(tables, "md")
    assert "| unif-SGD | R-10 | " in text and "(29.7%)" in text  # int(0.3 x 64) of 64 samples per epoch
    assert "R-10 (unif-SGD at budget 0.3)" in text  # and in the classic table


def test_loggers_made_inside_a_cell_outlive_its_log_file(tmp_path, capfd):
    # mmengine's Runner makes an MMLogger whose console handler holds the redirected stdout (the
    # cell's log); the report later logs through it after that file has closed
    from mmengine.logging import MMLogger, print_log

    from pipeline.run import _captured

    with _captured(tmp_path / "cell.log", verbose=False):
        MMLogger.get_instance("test_cell_logger", logger_name="test_cell_logger")
    print_log("after the cell", logger="test_cell_logger")
    err = capfd.readouterr().err
    assert "Logging error" not in err and "after the cell" in err



@pytest.mark.e2e
def test_two_jobs_compute_what_one_job_does_and_every_cell_records_its_timing(tmp_path):
    from pipeline.parallel import run_parallel
    from pipeline.timing import timing_table

    experiment = tmp_path / "jobs.py"
    experiment.write_text(
        f"arms = dict(iid={TINY_IID!r}, random_init=None)\n"
        f"pretrain_options = {dict(CONTROL_OPTIONS, arch='resnet18')!r}\n"  # resnet10 has no toolbox twin
        f"demo_data = {SMALL['demo_data']!r}\n"
        "tasks = dict(pspnet_tiny=dict(cfg_options={'train_cfg.max_iters': 1}))\n")
    parallel = make_plan(load_experiment(str(experiment)), tmp_path / "two")
    assert set(run_parallel(parallel, jobs=2).values()) == {DONE}
    sequential = make_plan(load_experiment(str(experiment)), tmp_path / "one")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' count: another thread count computes other numbers
    try:
        assert set(run_plan(sequential, log=lambda line: None).values()) == {DONE}
    finally:
        torch.set_num_threads(threads)
    for ours, theirs in zip(parallel.transfer, sequential.transfer, strict=True):
        # one thread each, another order and other processes: the same numbers
        ours, theirs = (json.loads((c.work_dir / "results.json").read_text()) for c in (ours, theirs))
        assert ours["metrics"] == theirs["metrics"] and ours["timing"]["threads"] == 1
        timing = ours["timing"]
        parts = [timing[k] for k in ("build_config_s", "runner_build_s", "train_setup_s", "train_s",
                                     "test_inference_s", "evaluate_s")]
        assert timing["train_iters"] == 1 and all(p >= 0 for p in parts) and sum(parts) <= timing["total_s"] + 0.01
    exported = json.loads((parallel.pretrain[0].export_dir / "backbone.json").read_text())
    assert [e["epoch"] for e in exported["timing"]["epochs"]] == [1, 2, 3, 4]
    assert all(e["data_s"] > 0 and e["compute_s"] > 0 for e in exported["timing"]["epochs"])
    assert exported["timing"]["dataset_build_s"] > 0 and exported["timing"]["val_s"] > 0
    table = timing_table(parallel)
    assert all(cell.name in table for cell in parallel.cells) and "\nsum " in table
