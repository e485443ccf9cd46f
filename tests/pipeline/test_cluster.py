"""Cells as submitit jobs: a two-cell experiment through `--executor local` (separate processes)
gives what the in-process executor gives; `--executor slurm --dry-run` prints each cell's sbatch
parameters, a transfer cell after its pretraining cell; resources, time limits and job states."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pipeline.cluster import (
    job_column,
    job_is_active,
    parse_minutes,
    release_lock_of_ended_job,
    sbatch_parameters,
    stage_resources,
    submit_plan,
)
from pipeline.experiment import load_experiment, make_plan
from pipeline.locks import LOCK_FILE, lock_holder
from pipeline.run import DONE, run_plan, status_table

REPO = Path(__file__).resolve().parents[2]
TINY_IID = REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py"
# A tiny pretraining cell (2 epochs of 48 shapes at 16 px, deterministic) and one transfer cell on
# it (PSPNet on the Cityscapes sample, 2 iterations).
TWO_CELLS = f"""
name = "two_cells"
arms = {{"iid": "{TINY_IID}"}}
pretrain_options = {{"data.num_train": 48, "data.num_val": 16, "data.image_size": 16, "train.epochs": 2,
                     "train.batch_size": 16, "train.milestones": [1], "val_interval": 2, "deterministic": True}}
tasks = {{"pspnet_tiny": dict(cfg_options={{"train_cfg.max_iters": 2}})}}
slurm = dict(pretrain=dict(partition="gpu", gpus_per_node=8, time="2-00:00:00"), transfer=dict(time=90))
"""


def _pipeline(*args, cwd=REPO, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")  # one thread: see one_torch_thread
    return subprocess.run([sys.executable, str(REPO / "tools" / "pipeline.py"), *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def two_cells(tmp_path):
    path = tmp_path / "two_cells.py"
    path.write_text(TWO_CELLS)
    return path


@pytest.mark.e2e
def test_the_local_executor_runs_the_cells_as_jobs_with_the_in_process_results(two_cells, shared_data, tmp_path):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        inprocess = make_plan(load_experiment(str(two_cells)), tmp_path / "inprocess")
        assert set(run_plan(inprocess, log=lambda line: None).values()) == {DONE}
    finally:
        torch.set_num_threads(threads)

    done = _pipeline(two_cells, "--executor", "local", "--runs-root", tmp_path / "local", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "[2/2] transfer/pspnet_tiny/iid/seed0: running as local job" in done.stdout
    jobs = make_plan(load_experiment(str(two_cells)), tmp_path / "local")
    for ours in jobs.cells:
        status = json.loads((ours.work_dir / "status.json").read_text())
        assert status["state"] == DONE and status["job"]["executor"] == "local"
        assert status["pid"] != os.getpid() and status["job"]["job_id"]  # another process, a submitit job
    pretrain_ours, pretrain_theirs = (torch.load(p.pretrain[0].export_dir / "backbone.pth") for p in (jobs, inprocess))
    assert all(torch.equal(pretrain_ours[k], v) for k, v in pretrain_theirs.items())
    meta = [json.loads((p.pretrain[0].export_dir / "backbone.json").read_text()) for p in (jobs, inprocess)]
    assert meta[0]["top1"] == meta[1]["top1"] and meta[0]["cost"] == meta[1]["cost"] == 1.0
    results = [json.loads((p.transfer[0].work_dir / "results.json").read_text()) for p in (jobs, inprocess)]
    assert results[0]["metrics"] == results[1]["metrics"]
    assert results[0]["pretrain"]["config_hash"] == results[1]["pretrain"]["config_hash"]
    assert (tmp_path / "local" / "two_cells" / "report" / "report.md").is_file()

    lines = []  # submitted again: every cell is done, nothing is submitted
    assert submit_plan(jobs, "local", stage_resources(None), log=lines.append) == dict.fromkeys(
        (c.name for c in jobs.cells), DONE)
    assert [line.split(": ", 1)[1] for line in lines] == ["done, skipped"] * 2
    job_id = json.loads((jobs.pretrain[0].work_dir / "status.json").read_text())["job"]["job_id"]
    assert f"done        pretrain/iid/seed0  [local job {job_id}: FINISHED]" in status_table(jobs, job_column(jobs))


@pytest.mark.e2e
def test_slurm_dry_run_prints_the_sbatch_parameters_of_every_cell(two_cells, tmp_path):
    out = _pipeline(two_cells, "--executor", "slurm", "--dry-run", "--runs-root", tmp_path, "--nodes", "2",
                    timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    pretrain, transfer = text.split("\npending     transfer/pspnet_tiny/iid/seed0")
    assert "pretrain/iid/seed0  (16 process(es), torch.distributed, --launcher slurm)" in pretrain
    for line in ("#SBATCH --partition=gpu", "#SBATCH --gpus-per-node=8", "#SBATCH --ntasks-per-node=8",
                 "#SBATCH --nodes=2", "#SBATCH --time=2880", "#SBATCH --job-name=two_cells:pretrain/iid/seed0"):
        assert line in pretrain
    for line in ("#SBATCH --dependency='afterok:<job of pretrain/iid/seed0>'", "#SBATCH --kill-on-invalid-dep=yes",
                 "#SBATCH --time=90", "#SBATCH --gpus-per-node=1", "#SBATCH --nodes=2"):
        assert line in transfer
    assert "--partition" not in transfer  # the experiment gives the transfer stage none
    assert not (tmp_path / "two_cells").exists()  # a dry run submits and writes nothing


def test_resources_come_from_defaults_then_the_experiment_then_the_flags():
    resources = stage_resources({"pretrain": {"gpus_per_node": 8, "partition": "a100"}}, {"time": "1:30:00"})
    assert resources["pretrain"] == {"nodes": 1, "gpus_per_node": 8, "time": 90, "cpus_per_task": 8,
                                     "partition": "a100"}
    assert resources["transfer"]["gpus_per_node"] == 1 and resources["transfer"]["time"] == 90
    with pytest.raises(KeyError, match=r"slurm.pretrain: unknown resource key\(s\) \['gpus'\]"):
        stage_resources({"pretrain": {"gpus": 8}})
    with pytest.raises(KeyError, match=r"unknown stage\(s\) \['eval'\]"):
        stage_resources({"eval": {}})
    params = sbatch_parameters(resources["pretrain"], "x", dependency="afterok:42")
    assert params["dependency"] == "afterok:42" and params["ntasks_per_node"] == 8
    assert params["additional_parameters"] == {"kill-on-invalid-dep": "yes"}


@pytest.mark.parametrize("given, minutes", [(90, 90), ("90", 90), ("1:30", 90), ("01:30:00", 90),
                                            ("2-00:00:00", 2880), ("0:00:20", 1)])
def test_time_limits_in_slurm_formats(given, minutes):
    assert parse_minutes(given) == minutes


def test_a_bad_time_limit_is_an_error_naming_the_formats():
    with pytest.raises(ValueError, match=r"\[D-\]HH:MM\[:SS\]"):
        parse_minutes("two days")


def test_only_a_queued_or_running_slurm_job_blocks_resubmission():
    record = {"executor": "slurm", "job_id": "7", "submitted": 1000.0}
    assert job_is_active(record, "PENDING") and job_is_active(record, "RUNNING")
    assert not job_is_active(record, "FAILED") and not job_is_active(record, "CANCELLED by 1234")
    assert not job_is_active(record, "TIMEOUT") and not job_is_active(record, "COMPLETED")
    assert job_is_active(record, "UNKNOWN", now=1100.0)  # sacct does not know it yet
    assert not job_is_active(record, "UNKNOWN", now=1000.0 + 3600)  # long gone from sacct
    assert not job_is_active({"executor": "local", "job_id": "7"}, "RUNNING")


def test_a_lock_left_on_another_node_by_an_ended_job_is_removed(two_cells, tmp_path):
    plan = make_plan(load_experiment(str(two_cells)), tmp_path)
    cell = plan.pretrain[0]
    cell.work_dir.mkdir(parents=True)
    holder = {"pid": 4242, "start_time": 1.0, "host": "gpu-node-17", "started": 2.0}
    (cell.work_dir / LOCK_FILE).write_text(json.dumps(holder))
    (cell.work_dir / "status.json").write_text(json.dumps({"state": "running", "pid": 4242,
                                                           "job": {"job_id": "99", "executor": "slurm"}}))
    assert lock_holder(cell.work_dir) == holder  # another host's lock is trusted as live
    job_dir = plan.root / "submitit" / cell.name
    job_dir.mkdir(parents=True)
    record = {"executor": "slurm", "job_id": "99", "submitted": time.time() - 86400, "folder": str(job_dir)}
    (job_dir / "job.json").write_text(json.dumps(record))
    lines = []
    # no sacct here: the state is UNKNOWN, a day after submission: the job has ended
    assert release_lock_of_ended_job(plan, cell, lines.append)
    assert lock_holder(cell.work_dir) is None and "job 99 ended" in lines[0]
    # a lock of this host, or of another job, is not touched
    (cell.work_dir / LOCK_FILE).write_text(json.dumps({**holder, "host": socket.gethostname()}))
    assert not release_lock_of_ended_job(plan, cell, lines.append)


@pytest.mark.e2e
def test_a_failed_job_keeps_its_cell_s_error_and_its_transfer_cell_is_not_submitted(tmp_path):
    experiment = tmp_path / "failing.py"
    cifar = REPO / "configs" / "pretrain" / "resnet110_cifar10_300e_iid.py"  # its data is not there
    experiment.write_text(TWO_CELLS + f"\narms = {{'iid': '{cifar}'}}\n"
                          f"pretrain_options = {{'data.root': '{tmp_path / 'no_cifar'}'}}\n")
    plan = make_plan(load_experiment(str(experiment)), tmp_path / "runs")
    lines = []
    final = submit_plan(plan, "local", stage_resources(None), log=lines.append)
    assert final == {"pretrain/iid/seed0": "failed", "transfer/pspnet_tiny/iid/seed0": "failed"}
    assert "no_cifar" in json.loads((plan.pretrain[0].work_dir / "status.json").read_text())["error"]
    assert "no_cifar" in lines[1] and "error.txt" in lines[1]  # the cell's own error, not submitit's
    assert lines[2].endswith("its pretraining cell pretrain/iid/seed0 failed; not submitted")
    assert not (plan.root / "submitit" / plan.transfer[0].name).exists()
