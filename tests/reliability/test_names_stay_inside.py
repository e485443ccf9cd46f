"""Issue 22, item 2: the names that become paths (experiment, arm, variant, task, selection target
and method) are checked, so no cell directory leaves the runs root; every cell directory is
verified to lie inside it; tools/pipeline.py says so in one line, without a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.experiment import PretrainCell, check_inside, check_name, load_experiment, make_plan

REPO = Path(__file__).resolve().parents[2]
TINY_IID = "configs/pretrain/resnet18_shapes_tiny_iid.py"


@pytest.mark.parametrize("name", ["../x", "a/b", "..", ".", "", "a..b", "x y", "caf\u00e9", "/abs", "a\\b", None])
def test_a_name_that_could_leave_its_directory_is_refused(name):
    with pytest.raises(ValueError, match="cannot name a directory"):
        check_name(name, "arm")


@pytest.mark.parametrize("name", ["iid", "dar-budget", "resnet50_b0.3", "v1.2", "A-Z_0.9"])
def test_ordinary_names_pass(name):
    check_name(name, "arm")


@pytest.mark.parametrize(("text", "named"), [
    ("name = '../x'\narms = dict(iid=None)\n", "experiment name '../x'"),
    ("arms = {'../iid': None}\n", "arm '../iid'"),
    (f"arms = dict(iid={TINY_IID!r})\nvariants = [dict(name='../v', options={{}})]\n", "variant name '../v'"),
    ("arms = dict(iid=None)\ntasks = {'a/b': dict()}\n", "task 'a/b'"),
    ("arms = dict(iid=None)\nbudgets = [0]\n", "budgets: 0 is not a fraction"),
    ("arms = dict(iid=None)\nbudgets = [1.5]\n", "budgets: 1.5 is not a fraction"),
])
def test_an_experiment_with_such_a_name_is_refused_on_load(tmp_path, text, named):
    experiment = tmp_path / "exp.py"
    experiment.write_text(text)
    with pytest.raises(ValueError, match=named.replace(".", r"\.")):
        load_experiment(str(experiment))


def test_a_selection_target_outside_is_refused(tmp_path):
    experiment = tmp_path / "exp.py"
    experiment.write_text(f"arms = dict(iid={TINY_IID!r})\nselection = dict(source={TINY_IID!r}, "
                          "targets={'../../etc': dict(root='/tmp')}, methods=['random'], fractions=[0.5])\n")
    with pytest.raises(ValueError, match=r"selection target '\.\./\.\./etc'"):
        load_experiment(str(experiment))


def test_every_cell_directory_is_checked_to_lie_inside_the_runs_root(tmp_path):
    experiment = tmp_path / "exp.py"
    experiment.write_text(f"arms = dict(iid={TINY_IID!r})\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path / "runs")
    check_inside(tmp_path / "runs", plan)  # the plan as made: inside
    plan.pretrain.append(PretrainCell("x", "", 0, TINY_IID, {}, tmp_path / "runs" / "exp" / ".." / ".." / "x"))
    with pytest.raises(ValueError, match="lies outside the runs root"):
        check_inside(tmp_path / "runs", plan)


@pytest.mark.e2e
def test_the_pipeline_refuses_a_dot_dot_experiment_in_one_line_even_for_dry_run(tmp_path):
    experiment = tmp_path / "exp.py"
    experiment.write_text("name = '../x'\narms = dict(random_init=None)\n")
    done = subprocess.run([sys.executable, str(REPO / "tools" / "pipeline.py"), str(experiment), "--dry-run",
                           "--runs-root", str(tmp_path / "runs")], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.strip() == ("error: experiment name '../x' cannot name a directory: use letters, digits, "
                                   "'_', '.' and '-' only, without '..' (it becomes part of the path of the "
                                   "experiment's runs)")
    assert not (tmp_path / "x").exists() and not (tmp_path / "runs").exists()
