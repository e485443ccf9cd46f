"""gather.collect and tools/gather.py on hand-made results.json / backbone.json files in tmp_path:
parsing, skipping broken files with a warning, and the CLI end to end in all three formats."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gather.collect import PretrainRow, collect, parse_backbone
from gather.render import render_all

REPO = Path(__file__).resolve().parents[2]
COSTS = {"iid": 1.0, "dar": 0.86, "random_init": 0.0}
BOX = ["coco/bbox_mAP", "coco/bbox_mAP_50", "coco/bbox_mAP_75",
       "coco/bbox_mAP_s", "coco/bbox_mAP_m", "coco/bbox_mAP_l"]
KP = ["coco/AP", "coco/AP .5", "coco/AP .75", "coco/AP (M)", "coco/AP (L)",
      "coco/AR", "coco/AR .5", "coco/AR .75", "coco/AR (M)", "coco/AR (L)"]


def write_results(root: Path, task: str, arm: str, seed: int, metrics: dict,
                  arch: str = "resnet50") -> Path:
    """A results.json as common/results.py defines it (the keys gather reads, and a few more)."""
    obj = {"format": "transfer-suite/results/v1", "task": task, "arm": arm, "seed": seed,
           "backbone": "none" if arm == "random_init" else f"/runs/{arm}/backbone.pth",
           "pretrain": {"arch": arch, "arm": arm, "cost": COSTS[arm]}, "metrics": metrics,
           "protocol": {}, "config_hash": "0123456789abcdef", "versions": {},
           "wall_clock_s": 1.0, "work_dir": "/tmp"}
    path = root / task / f"{arm}_seed{seed}" / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def write_export(root: Path, name: str, **meta) -> Path:
    """A backbone.json as common/backbone.py defines it (the keys gather reads)."""
    obj = {"format": "transfer-suite/backbone/v1", "arch": "resnet18", "arm": "iid",
           "dataset": "synthetic",
           "seed": 0, "epochs": 3, "cost": 1.0, "top1": 50.0, "top5": 90.0, "metrics": {},
           "history": [{"epoch": e, "fraction": 1.0, "mean_loss": 2.0 / e,
                        "cumulative_cost": 1.0} for e in (1, 2, 3)], **meta}
    path = root / name / "backbone.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def make_demo(root: Path) -> Path:
    """Three seeds of iid and dar on FPN, keypoints and PSPNet, a random-init PSPNet, two
    synthetic exports, and one broken file. The FPN AP diffs are [0.2, 0.4, 0.9] points."""
    for seed, (base, dar) in enumerate([(0.350, 0.352), (0.352, 0.356), (0.354, 0.363)]):
        for arm, ap in (("iid", base), ("dar", dar)):
            write_results(root, "fpn", arm, seed, dict(zip(BOX, [ap, 0.58, 0.38, -1.0, 0.40, 0.48],
                                                             strict=True)))
        write_results(root, "pspnet", "iid", seed, {"mIoU": 76.5 + seed, "aAcc": 95.0})
        write_results(root, "pspnet", "dar", seed, {"mIoU": 76.3 + seed, "aAcc": 95.0})
    write_results(root, "pspnet", "random_init", 0, {"mIoU": 60.0})
    write_results(root, "simplebaseline", "iid", 0, dict.fromkeys(KP, 0.70))
    write_results(root, "simplebaseline", "dar", 0, {**dict.fromkeys(KP, 0.71), "coco/AR": None})
    write_export(root, "pretrain/iid")
    write_export(root, "pretrain/dar", arm="dar", cost=0.9388889, top1=52.0, top5=91.0,
                 history=[{"epoch": 1, "fraction": 1.0, "mean_loss": 2.0},
                          {"epoch": 2, "fraction": 0.75, "mean_loss": 1.5},
                          {"epoch": 3, "fraction": 1.0, "mean_loss": 1.2}])
    broken = root / "fpn" / "broken" / "results.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"format": "transfer-suite/results/v1", "task": ')  # a killed write
    return root


def test_collect_reads_both_kinds_and_warns_about_broken_files(tmp_path):
    make_demo(tmp_path)
    (tmp_path / "x" / "results.json").parent.mkdir()
    (tmp_path / "x" / "results.json").write_text(json.dumps({"format": "other/v0"}))
    (tmp_path / "y" / "results.json").parent.mkdir()
    (tmp_path / "y" / "results.json").write_text(json.dumps(
        {"format": "transfer-suite/results/v1", "task": "fpn", "arm": "iid", "seed": "0",
         "pretrain": {"arch": "resnet50"}, "metrics": {}}))
    warnings = []
    transfer, pretrain = collect(tmp_path, warn=warnings.append)
    assert len(transfer) == 6 + 7 + 2 and len(pretrain) == 2
    assert len(warnings) == 3
    assert "fpn/broken/results.json" in warnings[0] and "cannot read JSON" in warnings[0]
    assert "x/results.json" in warnings[1] and "format" in warnings[1]
    assert "y/results.json" in warnings[2] and "seed must be an int" in warnings[2]


def test_duplicate_runs_are_warned_and_counted_once(tmp_path):
    write_results(tmp_path, "pspnet", "iid", 0, {"mIoU": 70.0})
    copy = tmp_path / "copy" / "results.json"
    copy.parent.mkdir()
    copy.write_text((tmp_path / "pspnet" / "iid_seed0" / "results.json").read_text())
    warnings = []
    transfer, _ = collect(tmp_path, warn=warnings.append)
    assert len(transfer) == 1 and len(warnings) == 1 and "duplicate run" in warnings[0]


def test_final_export_wins_over_an_early_one(tmp_path):
    write_export(tmp_path, "run/export_e1", epochs=1, top1=10.0)
    write_export(tmp_path, "run/final", epochs=3, top1=50.0)
    warnings = []
    _, pretrain = collect(tmp_path, warn=warnings.append)
    assert [r.metrics["top1"] for r in pretrain] == [50.0] and len(warnings) == 1


def test_parse_backbone_merges_top1_top5_and_long_tail_metrics():
    row = parse_backbone({"arch": "resnet10", "arm": "dar", "dataset": "imagenet_lt",
                          "seed": 0, "cost": 0.86, "top1": 40.0, "top5": 65.0,
                          "metrics": {"top1": 40.0, "many_shot_top1": 60.0,
                                      "medium_shot_top1": 33.0, "few_shot_top1": float("nan")}})
    assert isinstance(row, PretrainRow)
    assert row.metrics == {"top1": 40.0, "top5": 65.0, "many_shot_top1": 60.0,
                           "medium_shot_top1": 33.0, "few_shot_top1": None}


def test_a_method_is_named_and_ranked_as_its_export_says_and_older_exports_as_before(tmp_path):
    write_export(tmp_path, "pretrain/iid")  # written before method_label: common.vocab's label and order
    write_export(tmp_path, "pretrain/dar", arm="dar", cost=0.9)
    write_export(tmp_path, "pretrain/mine", arm="mine", method="mine", method_label="my method", method_order=5)
    write_export(tmp_path, "pretrain/late", arm="late", method="late", method_label="Late", method_order=2000)
    md = render_all(tmp_path, warn=pytest.fail)
    assert [line.split(" | ")[0] for line in md.splitlines() if line.startswith("| R-18 (")] == [
        "| R-18 (i.i.d.)", "| R-18 (my method)", "| R-18 (DaR)", "| R-18 (Late)"]
    assert "| Δ my method − i.i.d. |" in md


def test_render_all_from_files(tmp_path):
    make_demo(tmp_path)
    warnings = []
    md = render_all(tmp_path, warn=warnings.append)
    assert len(warnings) == 1  # the broken file
    lines = md.splitlines()
    # FPN: AP 35.2 ± 0.2 vs 35.7 ± 0.6; paired diffs [0.2, 0.4, 0.9] -> +0.5 ± 0.4 [−0.4, +1.4];
    # APS^bb is -1 (no small objects) in every run -> "–"
    assert ("| FPN 1x | Δ DaR − i.i.d. | −14% | +0.5 ± 0.4 [−0.4, +1.4] | 0.0 ± 0.0 [0.0, 0.0] "
            "| 0.0 ± 0.0 [0.0, 0.0] | – |") in md
    assert "| FPN 1x | R-50 (i.i.d.) | 100% | 35.2 ± 0.2 | 58.0 ± 0.0 | 38.0 ± 0.0 | – |" in md
    # PSPNet: mIoU in percent as reported; diffs -0.2 each seed -> std 0 -> [−0.2, −0.2]
    assert "| PSPNet | R-50 (i.i.d.) | 100% | 77.5 ± 1.0 |" in lines
    assert "| PSPNet | R-50 (random init) | 0% | 60.0 |" in lines
    assert "| PSPNet | Δ random init − i.i.d. | −100% | −16.5 |" in lines
    assert "| PSPNet | Δ DaR − i.i.d. | −14% | −0.2 ± 0.0 [−0.2, −0.2] |" in lines
    # keypoints: 0.70 -> 70.0, AR null in dar -> "–" in the arm and the Δ row
    assert ("| SimpleBaseline | Δ DaR − i.i.d. | −14% | +1.0 | +1.0 | +1.0 | +1.0 | +1.0 | – "
            "| +1.0 | +1.0 | +1.0 | +1.0 |") in lines
    assert "| R-18 (DaR) | 93.9% | 52.0 | 91.0 |" in lines
    for heading in ("### T5 ", "### T6 ", "### T7 ", "### Synthetic "):
        assert heading in md


def run_cli(*args):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(REPO / "tools" / "gather.py"), *map(str, args)],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=120)


@pytest.mark.parametrize("fmt, prefix", [("md", "### "), ("csv", "# "), ("tex", "% ")])
def test_cli_end_to_end(tmp_path, fmt, prefix):
    make_demo(tmp_path / "runs")
    proc = run_cli(tmp_path / "runs", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    for key in ("T5", "T6", "T7", "Synthetic"):
        assert f"\n{prefix}{key} " in "\n" + proc.stdout
    assert "broken/results.json" in proc.stderr and "skipping" in proc.stderr
    if fmt != "md":
        assert proc.stdout.isascii()


@pytest.mark.e2e
def test_cli_out_file_and_plots(tmp_path):
    make_demo(tmp_path / "runs")
    proc = run_cli(tmp_path / "runs", "--out", tmp_path / "tables.md", "--plots", tmp_path / "fig")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "### T7 " in (tmp_path / "tables.md").read_text()
    pngs = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert pngs == ["deltas_synthetic.png", "deltas_t5.png", "deltas_t6.png", "deltas_t7.png",
                    "frontier_fpn_1x.png", "frontier_pspnet.png", "frontier_simplebaseline.png",
                    "kept_fraction_synthetic_resnet18.png",
                    "training_curves_synthetic_resnet18.png"]
    assert all((tmp_path / "fig" / p).read_bytes()[:4] == b"\x89PNG" for p in pngs)


def test_cli_fails_clearly_without_results(tmp_path):
    proc = run_cli(tmp_path)
    assert proc.returncode == 1 and "no usable results.json" in proc.stderr
    assert run_cli(tmp_path / "absent").returncode == 2
