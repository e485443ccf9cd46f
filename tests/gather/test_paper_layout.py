"""T2-T4 in the DaR paper's layout (gather.tables.build_paper_table), from backbone.json files
written in tmp_path: a row per architecture named as the paper prints it, the arms as columns
beside the "original paper" column an experiment config records, the improvement in brackets
with the paper's sign; and the configs' `original_paper` entries checked."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gather.render import CSV, MD, format_cell, format_improvement, render, tex_header
from gather.stats import PRETRAINING_RUNS, Delta
from gather.tables import (
    PAPER_ARCH_NAMES,
    arch_name,
    check_original_paper,
    cost_header,
    gather_tables,
    paper_arch_name,
)

REPO = Path(__file__).resolve().parents[2]
CIFAR10 = {"cifar10": {"resnet110_cifar": {"top1": 93.57}, "densenet_bc100_cifar": {"top1": 95.49}}}


def write_export(root: Path, dataset: str, arch: str, arm: str, seed: int, top1: float, top5: float = 99.0,
                 cost: float = 1.0, **extra) -> Path:
    """A backbone.json as common/backbone.py defines it (the keys gather reads)."""
    obj = {"format": "transfer-suite/backbone/v1", "arch": arch, "arm": arm, "dataset": dataset, "seed": seed,
           "epochs": 300, "cost": cost, "top1": top1, "top5": top5, "metrics": {}, "history": [], **extra}
    path = root / dataset / arch / arm / f"seed{seed}" / "backbone.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(obj))
    return path


def write_cifar10(root: Path) -> Path:
    """Three seeds of i.i.d. and DaR (73.1% cost) on ResNet-164 and ResNet-110 (written in that
    order), DaR better by 0.2, 0.3, 0.4 points; DenseNet-BC-100 with i.i.d. only."""
    for seed, gain in enumerate([0.2, 0.3, 0.4]):
        for arch in ("resnet164_cifar", "resnet110_cifar"):
            write_export(root, "cifar10", arch, "iid", seed, 93.0 + 0.1 * seed)
            write_export(root, "cifar10", arch, "dar", seed, 93.0 + 0.1 * seed + gain, cost=0.731)
        write_export(root, "cifar10", "densenet_bc100_cifar", "iid", seed, 95.0)
    return root


def table(tables, key):
    found = [t for t in tables if t.spec.key == key]
    assert len(found) == 1
    return found[0]


def md_rows(t):
    return [[format_cell(c, MD) for c in row.labels + row.values] for row in t.rows]


def test_t2_has_the_papers_columns_rows_and_original_numbers(tmp_path):
    tables, _ = gather_tables(write_cifar10(tmp_path), warn=pytest.fail, original_paper=CIFAR10)
    t2 = table(tables, "T2")
    assert t2.spec.columns == ("Backbone", "original paper", "re-implementation (i.i.d.)", "DaR (73.1% cost)")
    # the paper's row order and names, whatever order the files came in; "–" where nothing is recorded
    # (ResNet-164) or nothing ran (DenseNet-BC-100's DaR)
    assert md_rows(t2) == [
        ["ResNet-110", "93.57", "93.1 ± 0.1", "93.4 ± 0.2 (+0.3 [+0.1, +0.5])"],
        ["ResNet-164", "–", "93.1 ± 0.1", "93.4 ± 0.2 (+0.3 [+0.1, +0.5])"],
        ["DenseNet-BC-100", "95.49", "95.0 ± 0.0", "–"]]
    # the same runs an arm per row follow it, with the paper's architecture names too
    assert [t.spec.key for t in tables] == ["T2", "T2-arms"]
    assert [row.labels[0] for row in table(tables, "T2-arms").rows][:3] == [
        "ResNet-110 (i.i.d.)", "ResNet-110 (DaR)", "Δ DaR − i.i.d."]


def test_without_a_recorded_number_there_is_no_original_paper_column(tmp_path):
    tables, _ = gather_tables(write_cifar10(tmp_path), warn=pytest.fail)
    assert table(tables, "T2").spec.columns == ("Backbone", "re-implementation (i.i.d.)", "DaR (73.1% cost)")
    # numbers recorded for another dataset leave this one's table without the column too
    tables, _ = gather_tables(tmp_path, warn=pytest.fail, original_paper={"cifar100": {"resnet110_cifar": {"top1": 1}}})
    assert "original paper" not in table(tables, "T2").spec.columns


def test_t4_signs_the_improvement_as_an_error_reduction(tmp_path):
    # DaR's top-1 error is 0.4 and 0.6 points lower (seeds 0, 1), its top-5 error 0.2 higher:
    # improvements +0.5 (t interval over 2 pairs: ±12.706 · 0.1414 / √2 = ±1.27) and −0.2
    for seed in (0, 1):
        write_export(tmp_path, "imagenet", "mobilenet_v1", "iid", seed, 70.0 + seed, 89.0 + seed)
        write_export(tmp_path, "imagenet", "mobilenet_v1", "dar", seed, 70.4 + 1.2 * seed, 88.8 + seed, cost=0.86)
        write_export(tmp_path, "imagenet", "resnet50", "iid", seed, 76.0, 93.0)
    original = {"imagenet": {"mobilenet_v1": {"top1_err": 29.4}}}
    tables, _ = gather_tables(tmp_path, warn=pytest.fail, original_paper=original)
    t4 = table(tables, "T4")
    assert t4.spec.columns == (
        "Backbone", "original paper top-1 err", "original paper top-5 err",
        "re-implementation (i.i.d.) top-1 err", "re-implementation (i.i.d.) top-5 err",
        "DaR (86% cost) top-1 err", "DaR (86% cost) top-5 err")
    assert md_rows(t4) == [
        ["ResNet-50", "–", "–", "24.0 ± 0.0", "7.0 ± 0.0", "–", "–"],
        ["MobileNet-V1-1.0", "29.40", "–", "29.5 ± 0.7", "10.5 ± 0.7", "29.0 ± 0.8 (+0.5 [−0.8, +1.8])",
         "10.7 ± 0.7 (−0.2 [−0.2, −0.2])"]]
    assert "baseline − arm (an error), positive = better" in t4.notes[0]
    # the arm-per-row table keeps its explicit "DaR − i.i.d." difference of errors
    deltas = [row for row in table(tables, "T4-arms").rows if row.kind == "delta"]
    assert [format_cell(v, MD) for v in deltas[0].values] == ["−0.5 ± 0.1 [−1.8, +0.8]", "+0.2 ± 0.0 [+0.2, +0.2]"]


def test_the_improvement_bracket_formats():
    interval = Delta(5, 0.34, 0.1, 0.21, 0.46, True, PRETRAINING_RUNS)
    assert format_improvement(interval, MD) == "+0.3 [+0.2, +0.5]"
    assert format_improvement(Delta(0, -0.2, None, None, None, False), MD) == "−0.2†"
    assert format_improvement(Delta(1, 0.1, None, None, None, True, backbones=1), MD) == "+0.1‡"
    assert format_improvement(Delta(5, -0.34, 0.1, -0.46, -0.21, True), CSV) == "-0.3 [-0.5, -0.2]"


def test_paper_tables_render_in_every_format(tmp_path):
    tables, _ = gather_tables(write_cifar10(tmp_path), warn=pytest.fail, original_paper=CIFAR10)
    t2 = [table(tables, "T2")]
    assert render(t2, "csv").isascii()
    assert "ResNet-110,93.57,93.1 +/- 0.1,\"93.4 +/- 0.2 (+0.3 [+0.1, +0.5])\"" in render(t2, "csv")
    tex = render(t2, "tex")
    assert "Backbone & original paper & re-implementation (i.i.d.) & DaR (73.1\\% cost) \\\\" in tex
    assert tex_header("DaR (73.1% cost)") == "DaR (73.1\\% cost)"


def test_cost_header_names_the_measured_cost_or_its_range():
    assert cost_header("DaR", [0.731, 0.731]) == "DaR (73.1% cost)"
    assert cost_header("DaR", [0.86, None]) == "DaR (86% cost)"
    assert cost_header("DaR", [0.72, 0.7349]) == "DaR (72-73.5% cost)"
    assert cost_header("random init", [None]) == "random init"


def test_every_classification_arch_has_the_papers_name_and_transfer_tables_keep_mmdets():
    # pretrain.models.ARCHS read from the source: gather never imports pretrain (nor torch)
    tree = ast.parse((REPO / "pretrain" / "models.py").read_text())
    archs = next(node.value for node in ast.walk(tree) if isinstance(node, ast.Assign)
                 and any(getattr(t, "id", None) == "ARCHS" for t in node.targets))
    assert {key.value for key in archs.keys} == set(PAPER_ARCH_NAMES)
    assert [paper_arch_name(a) for a in ("resnet110_cifar", "resnet164_cifar", "densenet_bc100_cifar",
                                         "resnet18", "densenet121", "mobilenet_v1")] == [
        "ResNet-110", "ResNet-164", "DenseNet-BC-100", "ResNet-18", "DenseNet-121", "MobileNet-V1-1.0"]
    assert paper_arch_name("vit_b16") == "vit_b16"
    assert arch_name("resnet50") == "R-50"  # T5-T7's mmdet convention


@pytest.mark.parametrize("original, names", [
    ({"coco": {}}, "original_paper.coco"),
    ({"imagenet": {"resnet50": {"top1": 23.9}}}, "original_paper.imagenet.resnet50.top1: T4 has no such column"),
    ({"cifar10": {"resnet110_cifar": {"top1_err": 6.43}}}, "original_paper.cifar10.resnet110_cifar.top1_err"),
    ({"cifar10": {"resnet110_cifar": {"top1": 0.9357 * 1000}}}, "is not a percentage"),
    ({"cifar10": {"resnet110_cifar": {"top1": "93.57"}}}, "is not a percentage"),
    ([93.57], "must be a dict"),
])
def test_a_bad_original_paper_entry_is_an_error_naming_it(original, names):
    with pytest.raises(ValueError, match=names.replace(".", r"\.").replace("(", r"\(")):
        check_original_paper(original)


@pytest.mark.e2e  # three mmengine configs: about a second
def test_the_shipped_configs_record_valid_numbers_for_the_archs_they_train():
    from pipeline.experiment import load_experiment

    for name, dataset in (("cifar10", "cifar10"), ("cifar100", "cifar100"), ("imagenet", "imagenet")):
        cfg = load_experiment(str(REPO / "configs" / "experiments" / f"{name}_classification.py"))
        trained = {v["options"]["arch"] for v in cfg["variants"]}
        assert set(cfg["original_paper"]) == {dataset}
        assert cfg["original_paper"][dataset] and set(cfg["original_paper"][dataset]) <= trained


def test_an_experiment_with_a_bad_original_paper_fails_to_load_naming_file_and_key(tmp_path):
    from pipeline.experiment import load_experiment

    experiment = tmp_path / "bad.py"
    experiment.write_text("arms = dict(iid=None)\n"
                          "original_paper = dict(cifar10=dict(resnet110_cifar=dict(acc=93.57)))\n")
    with pytest.raises(ValueError, match=r"bad\.py: original_paper\.cifar10\.resnet110_cifar\.acc"):
        load_experiment(str(experiment))


@pytest.mark.e2e
def test_gather_cli_prints_the_experiments_original_numbers(tmp_path):
    write_cifar10(tmp_path / "runs")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}

    def run(*args):
        return subprocess.run([sys.executable, str(REPO / "tools" / "gather.py"), str(tmp_path / "runs"), *args],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=120)

    proc = run("--experiment", "configs/experiments/cifar10_classification.py")
    assert proc.returncode == 0, proc.stderr
    assert "| ResNet-110 | 93.57 | 93.1 ± 0.1 | 93.4 ± 0.2 (+0.3 [+0.1, +0.5]) |" in proc.stdout
    assert "| ResNet-164 | 94.54 |" in proc.stdout and "| DenseNet-BC-100 | 95.49 |" in proc.stdout
    assert "original paper" not in run().stdout  # without the experiment, no published numbers
    missing = run("--experiment", str(tmp_path / "none.py"))
    assert missing.returncode == 2 and "none.py" in missing.stderr
