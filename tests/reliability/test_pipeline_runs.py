"""Item 6 (besides the lock, test_cell_lock.py): the report reads only the current config's
finished cells, and an experiment's config paths are relative to the repository wherever the
command runs."""

import json
from pathlib import Path

import pytest

from gather.collect import find_result_files
from pipeline.experiment import load_experiment, make_plan
from pipeline.report import current_artifacts
from pipeline.run import STATUS_FILE

REPO = Path(__file__).resolve().parents[2]
TINY_IID = "configs/pretrain/resnet18_shapes_tiny_iid.py"


def test_experiment_config_paths_are_relative_to_the_repository_from_any_directory(tmp_path, monkeypatch):
    decoy = tmp_path / TINY_IID
    decoy.parent.mkdir(parents=True)
    decoy.write_text("arch = 'a decoy the pipeline must not read'\n")
    experiment = tmp_path / "exp.py"
    experiment.write_text(f"arms = dict(iid={TINY_IID!r})\n")
    monkeypatch.chdir(tmp_path)
    plan = make_plan(load_experiment(str(experiment)), tmp_path / "runs")
    assert plan.pretrain[0].config == str(REPO / TINY_IID)
    experiment.write_text("arms = dict(iid='configs/pretrain/no_such.py')\n")
    with pytest.raises(FileNotFoundError, match=f"{REPO}/configs/pretrain/no_such.py .*relative to the repository"):
        make_plan(load_experiment(str(experiment)), tmp_path / "runs")


def test_the_report_reads_only_the_current_config_s_finished_cells(tmp_path):
    experiment = tmp_path / "exp.py"
    experiment.write_text("arms = dict(random_init=None)\nseeds = [0, 1, 2]\n"
                          "tasks = dict(pspnet_tiny=dict(cfg_options={'train_cfg.max_iters': 1}))\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    current, earlier, unfinished = plan.transfer
    for cell, hash_ in ((current, current.hash(plan)), (earlier, "0" * 16), (unfinished, None)):
        cell.work_dir.mkdir(parents=True)
        (cell.work_dir / "results.json").write_text("{}")
        if hash_:
            (cell.work_dir / STATUS_FILE).write_text(json.dumps({"state": "done", "hash": hash_}))
    stale = current.work_dir.with_name(current.work_dir.name + ".stale")  # moved aside by a config change
    stale.mkdir()
    (stale / "results.json").write_text("{}")
    assert current_artifacts(plan) == ([current.work_dir / "results.json"], [])
    # gather over a directory (tools/gather.py) skips the moved-aside runs too
    assert stale / "results.json" not in find_result_files(tmp_path)[0]
