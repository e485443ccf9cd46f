"""The README's "Adding a method" example, exactly as written there: a complete method in at most
40 lines that tools/schedule.py, the trainer (tools/pretrain.py's path) and experiments pick
up by its name from a folder in $TRANSFER_SUITE_METHODS."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.experiment import load_experiment, make_plan
from pretrain.config import load_config
from pretrain.methods import ENV_PATH, get_method
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


def test_an_experiment_plans_it_by_name(method_dir, tmp_path):
    _, config = method_dir
    experiment = tmp_path / "exp.py"
    experiment.write_text(f"arms = dict(iid={str(REPO / 'configs/pretrain/resnet18_shapes_tiny_iid.py')!r}, "
                          f"loss_sampling={str(config)!r})\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    assert [c.arm for c in plan.pretrain] == ["iid", "loss_sampling"]
