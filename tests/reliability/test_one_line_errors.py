"""Issue 22, item 6: where a user's mistake or the environment stops a run, the tools print one
line `error: ...` naming the arm, key, file or method, and no traceback (--debug shows it);
and the local executor never reports a cell done while its worker still runs."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from common.errors import MethodFailed
from pipeline.experiment import load_experiment, make_plan
from pretrain.config import load_config
from pretrain.trainer import train

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
FAST = {"arch": "resnet10", "data.num_train": 16, "data.num_val": 8, "data.image_size": 16, "train.epochs": 2,
        "train.batch_size": 16, "train.milestones": [1], "val_interval": 2}
EXPLODING = '''
from pretrain.methods.iid import IID


class Exploding(IID):
    name = "exploding"

    def end_epoch(self, epoch, table):
        raise ZeroDivisionError("a bug in the user's method")
'''


def tool(*args, limit_file_size: int | None = None, env: dict | None = None, cwd=REPO):
    def limited():  # a full disk, as seen by the writer: writes beyond the limit fail (EFBIG)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_size, limit_file_size))

    return subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
                          preexec_fn=limited if limit_file_size else None)


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr[-3000:]
    return errors[0]


def options(overrides: dict) -> list[str]:
    return ["--cfg-options", *(f"{k}={json.dumps(v).replace(' ', '')}" for k, v in overrides.items())]


@pytest.mark.e2e
def test_a_non_finite_pretraining_loss_is_one_line_and_debug_shows_the_traceback(tmp_path):
    args = [REPO / "tools" / "pretrain.py", TINY, "--work-dir", tmp_path / "nan", *options({**FAST, "train.lr": 1e12})]
    line = one_error_line(tool(*args))
    assert line.startswith("error: arm iid: non-finite training loss") and "are intact" in line
    debug = tool(*args, "--overwrite", "--debug")
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "FloatingPointError" in debug.stderr


@pytest.mark.e2e
def test_a_full_disk_while_saving_names_the_checkpoint_and_leaves_no_part_of_it(tmp_path):
    work = tmp_path / "full"
    line = one_error_line(tool(REPO / "tools" / "pretrain.py", TINY, "--work-dir", work, *options(FAST),
                               limit_file_size=2_000_000))
    assert line.startswith(f"error: cannot write {work / 'epoch_1.pth'}: File too large")
    assert "is intact" in line and not list(work.glob("*.pth")) and not list(work.glob(".*.tmp"))


@pytest.mark.e2e
def test_select_subset_with_fraction_zero_is_one_line(tmp_path):
    line = one_error_line(tool(REPO / "tools" / "select_subset.py", TINY, "--target", tmp_path, "--method", "random",
                               "--fraction", "0", "--out", tmp_path / "s.json"))
    assert line == "error: --fraction 0: the kept share of the source must be in (0, 1]"


def test_a_user_method_that_raises_is_named_with_its_epoch(tmp_path, monkeypatch):
    (tmp_path / "methods").mkdir()
    (tmp_path / "methods" / "exploding.py").write_text(EXPLODING)
    monkeypatch.setenv("TRANSFER_SUITE_METHODS", str(tmp_path / "methods"))
    with pytest.raises(MethodFailed, match=r"method 'exploding' \(transfer_suite_methods.exploding\) of arm "
                                           r"'exploding' raised in end_epoch\(\) after epoch 1: ZeroDivisionError: "
                                           "a bug in the user's method"):
        train(load_config(TINY, {**FAST, "arm": {"_delete_": True, "name": "exploding"}}), str(tmp_path / "run"))


@pytest.mark.parametrize(("fault", "named"), [
    ("other_source", "was selected from a source of 999 samples"),
    ("out_of_range", "indices must be unique and in [0, 16)"),
    ("truncated", "is not valid JSON"),
])
def test_a_bad_subset_file_is_named(tmp_path, fault, named):
    from pretrain.data import build_datasets
    from pretrain.subset import sample_list_hash

    cfg = load_config(TINY, FAST)
    source = build_datasets(cfg["data"], 0)[0]
    record = {"format": "transfer-suite/subset/v1", "method": "random", "fraction": 0.5, "seed": 0,
              "source": {"size": len(source), "hash": sample_list_hash(source)}, "target": {}, "cost": {},
              "indices": [0, 1, 2]}
    if fault == "other_source":
        record["source"] = {"size": 999, "hash": "0" * 16}
    if fault == "out_of_range":
        record["indices"] = [0, 16]
    text = json.dumps(record)
    path = tmp_path / "subset.json"
    path.write_text(text[: len(text) // 2] if fault == "truncated" else text)
    with pytest.raises(ValueError, match=f"subset file {path}.*{named.replace('[', '.').replace(')', '.')}"):
        train(load_config(TINY, {**FAST, "data.subset": str(path)}), str(tmp_path / "run"))


def test_an_unknown_control_names_its_arm(tmp_path):
    experiment = tmp_path / "exp.py"
    experiment.write_text("arms = dict(dar=dict(config='configs/pretrain/resnet18_shapes_tiny_dar.py', "
                          "controls=['random_dorp']))\n")
    with pytest.raises(ValueError, match="arms.dar.controls: unknown pretraining method .* 'random_dorp'"):
        make_plan(load_experiment(str(experiment)), tmp_path / "runs")


# 10 epochs of 2048 images at 32 px: several seconds of training after the kill (with FAST's 8 epochs of
# 16 images the cell finished before its wrapper was killed, and the wait was never exercised)
OUTLIVES_THE_KILL = {**FAST, "data.num_train": 2048, "data.image_size": 32, "train.epochs": 10}


@pytest.mark.e2e
def test_the_local_executor_waits_for_the_worker_of_a_killed_wrapper(tmp_path):
    """The wrapper is killed as soon as the cell's training starts; the cell then trains for several
    seconds more (10 epochs of 2048 images), so its worker outlives the wrapper."""
    experiment = tmp_path / "orphan.py"
    experiment.write_text(f"arms = {{'iid': '{TINY}'}}\npretrain_options = {json.dumps(OUTLIVES_THE_KILL)}\n")
    proc = subprocess.Popen([sys.executable, str(REPO / "tools" / "pipeline.py"), str(experiment), "--executor",
                             "local", "--runs-root", str(tmp_path / "runs")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=REPO, env={**os.environ, "OMP_NUM_THREADS": "1"})
    plan = make_plan(load_experiment(str(experiment)), tmp_path / "runs")
    cell = plan.pretrain[0]
    job_file = plan.root / "submitit" / cell.name / "job.json"
    deadline = time.monotonic() + 300
    while not ((cell.work_dir / ".lock").exists() and (cell.work_dir / "config.json").exists()):
        assert time.monotonic() < deadline and proc.poll() is None, "the cell never started"
        time.sleep(0.05)
    wrapper = int(json.loads(job_file.read_text())["job_id"])  # submitit's controller: the job's pid
    os.kill(wrapper, signal.SIGKILL)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    assert "still runs the cell; waiting for it" in out, out[-3000:]
    assert f"[1/1] {cell.name}: done" in out and (cell.export_dir / "backbone.json").is_file()
