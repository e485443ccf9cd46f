"""The README's "Adding a method" example, exactly as written there: a complete method in at most
40 lines that tools/schedule.py, the trainer (tools/pretrain.py's path), experiments, the tables
(by its label and order, from its export) and the benchmark pick up by its name from a folder
in $TRANSFER_SUITE_METHODS, with nothing edited in gather/ or pretrain/benchmark.py."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from common.vocab import EARLIER_METHOD_LABELS, IID, RANDOM_INIT, TORCHVISION
from gather.collect import collect
from gather.render import render
from gather.tables import build_tables
from pipeline.experiment import load_experiment, make_plan
from pretrain.benchmark import _config, benchmark_methods
from pretrain.config import load_config
from pretrain.methods import ENV_PATH, available_methods, get_method
from pretrain.trainer import train

REPO = Path(__file__).resolve().parents[2]


def readme_method() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Adding a method"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def method_dir(tmp_path, monkeypatch):
    folder = tmp_path / "my_methods"
    folder.mkdir()
    (folder / "loss_sampling.py").write_text(readme_method())
    monkeypatch.setenv(ENV_PATH, str(folder))
    config = tmp_path / "tiny_loss_sampling.py"
    config.write_text(f"_base_ = {str(REPO / 'configs/pretrain/resnet18_shapes_tiny_iid.py')!r}\n"
                      "arm = dict(name='loss_sampling', fraction=0.5)\n")
    return folder, config


def test_the_readme_method_is_complete_in_at_most_40_lines():
    assert len(readme_method().strip().splitlines()) <= 40


@pytest.mark.e2e
def test_schedule_tool_prints_its_plan(method_dir):
    _, config = method_dir
    out = subprocess.run([sys.executable, str(REPO / "tools" / "schedule.py"), str(config), "--json"],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == {"cost": 0.5, "fractions": [0.5] * 10}


def test_it_trains_with_repeats_and_exports_its_cost(method_dir, tmp_path):
    _, config = method_dir
    cfg = load_config(str(config), {"arch": "resnet10", "data.num_train": 64, "data.num_val": 16,
                                    "data.image_size": 16, "train.epochs": 3, "train.batch_size": 16,
                                    "val_interval": 3})
    meta = train(cfg, str(tmp_path / "run"))
    assert meta["method"] == "loss_sampling" and meta["cost"] == pytest.approx(0.5)
    assert [row["trained"] for row in meta["history"]] == [32, 32, 32]
    assert get_method("loss_sampling").name == "loss_sampling"
    assert (meta["method_label"], meta["method_order"]) == ("loss sampling", 120)
    # gather, which never imports pretrain, names and orders it from its export alone; beside it
    # an i.i.d. and an InfoBatch run as older exports (no method_label: common.vocab's names)
    (run,) = collect(tmp_path / "run", warn=pytest.fail)[1]
    older = [dataclasses.replace(run, arm=arm, method=None, path=f"{run.path}.{arm}") for arm in ("infobatch", IID)]
    (table,) = build_tables([], [run, *older])[0]
    assert [row.labels[0] for row in table.rows if row.kind == "arm"] == [
        "R-10 (i.i.d.)", "R-10 (InfoBatch)", "R-10 (loss sampling)"]
    assert "| Δ loss sampling − i.i.d. | " in render([table], "md")


def test_an_experiment_plans_it_by_name(method_dir, tmp_path):
    _, config = method_dir
    experiment = tmp_path / "exp.py"
    experiment.write_text(f"arms = dict(iid={str(REPO / 'configs/pretrain/resnet18_shapes_tiny_iid.py')!r}, "
                          f"loss_sampling={str(config)!r})\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    assert [c.arm for c in plan.pretrain] == ["iid", "loss_sampling"]


def test_the_benchmark_lists_it_and_runs_it_from_the_iid_preset_with_its_defaults(method_dir):
    methods = benchmark_methods()
    assert sorted(methods) == sorted(available_methods()) and methods[0] == IID and "loss_sampling" in methods
    assert methods.index("infobatch") < methods.index("loss_sampling")  # order 100 < 120
    cfg = _config("loss_sampling", samples=64, image_size=16, epochs=2, batch_size=16, arch="resnet10")
    assert dict(cfg["arm"]) == {"name": "loss_sampling"} and cfg["data"]["num_train"] == 64
    assert _config("dar", 64, 16, 2, 16, "resnet10")["arm"]["name"] == "dar"  # its own preset


def test_the_older_exports_table_agrees_with_the_method_classes():
    """common.vocab's labels of exports written before method_label are the classes' own."""
    methods = {name: (get_method(name).label, get_method(name).order) for name in available_methods()}
    assert {k: v for k, v in EARLIER_METHOD_LABELS.items() if k not in (RANDOM_INIT, TORCHVISION)} == methods
