"""The pipeline's per-cell lock: exclusive across processes, stale after a crash, safe against
pid reuse, and what `--status` makes of it (running vs interrupted)."""

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.experiment import Plan, PretrainCell, load_experiment, make_plan
from pipeline.locks import GRACE_S, LOCK_FILE, CellBusy, CellLock, lock_holder, process_start_time
from pipeline.run import INTERRUPTED, PENDING, RUNNING, STATUS_FILE, state_of, status_table

REPO = Path(__file__).resolve().parents[2]

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pipeline.locks import CellBusy, CellLock
    try:
        with CellLock(Path(sys.argv[1])):
            print("got", flush=True)
            time.sleep(float(sys.argv[2]))
    except CellBusy as busy:
        print("busy", busy, flush=True)
""")


def holder_process(cell_dir: Path, seconds: float) -> subprocess.Popen:
    """A process that holds the lock for `seconds` (it has it once it printed "got")."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(cell_dir), str(seconds)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.stdout.readline().strip() == "got"
    return proc


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def write_lock(cell_dir: Path, **record) -> None:
    cell_dir.mkdir(parents=True, exist_ok=True)
    (cell_dir / LOCK_FILE).write_text(json.dumps(record))


def test_a_live_holder_makes_the_cell_busy_and_is_named(tmp_path):
    proc = holder_process(tmp_path, 30)
    try:
        holder = lock_holder(tmp_path)
        assert holder["pid"] == proc.pid and holder["host"] == socket.gethostname()
        with pytest.raises(CellBusy, match=f"pid {proc.pid} on {socket.gethostname()}"):
            CellLock(tmp_path).acquire()
    finally:
        proc.kill()
        proc.wait()
    # killed without releasing: the lock file is left behind, and recognised as stale
    assert (tmp_path / LOCK_FILE).exists() and lock_holder(tmp_path) is None
    said = []
    with CellLock(tmp_path, log=said.append):
        assert lock_holder(tmp_path)["pid"] == os.getpid()
    assert "stale" in said[0] and str(proc.pid) in said[0]
    assert not (tmp_path / LOCK_FILE).exists()


def test_a_dead_holder_s_lock_is_taken_over(tmp_path):
    write_lock(tmp_path, pid=dead_pid(), start_time=1.0, host=socket.gethostname(), started=1.0)
    said = []
    with CellLock(tmp_path, log=said.append) as lock:
        assert json.loads((tmp_path / LOCK_FILE).read_text()) == lock.record
    assert said and "no longer running" in said[0]


def test_a_reused_pid_does_not_keep_the_cell_locked(tmp_path):
    # the recorded pid is alive (it is ours) but started at another time: another process
    write_lock(tmp_path, pid=os.getpid(), start_time=process_start_time(os.getpid()) - 3600,
               host=socket.gethostname(), started=1.0)
    assert lock_holder(tmp_path) is None
    with CellLock(tmp_path):
        pass


def test_an_ended_but_unreaped_holder_does_not_keep_the_cell_locked(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    start = process_start_time(child.pid)
    try:
        deadline = time.time() + 30
        while process_start_time(child.pid) is not None and time.time() < deadline:
            time.sleep(0.05)  # not waited for: it stays a zombie of this process
        write_lock(tmp_path, pid=child.pid, start_time=start, host=socket.gethostname(), started=1.0)
        assert lock_holder(tmp_path) is None
    finally:
        child.wait()


def test_an_empty_lock_is_held_for_a_grace_period_then_stale(tmp_path):
    (tmp_path / LOCK_FILE).write_text("")
    assert lock_holder(tmp_path) is not None  # a writer may be between create and write
    with pytest.raises(CellBusy):
        CellLock(tmp_path).acquire()
    old = time.time() - GRACE_S - 1
    os.utime(tmp_path / LOCK_FILE, (old, old))
    assert lock_holder(tmp_path) is None
    said = []
    with CellLock(tmp_path, log=said.append):
        pass
    assert "empty or unreadable" in said[0]


def test_release_removes_only_our_own_lock(tmp_path):
    lock = CellLock(tmp_path).acquire()
    other = {"pid": 1, "start_time": process_start_time(1), "host": socket.gethostname(), "started": 1.0}
    (tmp_path / LOCK_FILE).write_text(json.dumps(other))  # someone else's now
    lock.release()
    assert json.loads((tmp_path / LOCK_FILE).read_text()) == other


@pytest.mark.e2e
def test_of_processes_started_together_exactly_one_gets_the_lock(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path), "3"], stdout=subprocess.PIPE,
                              text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
             for _ in range(4)]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert sorted(out.split()[0] for out in outputs) == ["busy", "busy", "busy", "got"], outputs


def test_status_tells_running_from_interrupted(tmp_path):
    cell = PretrainCell("iid", "", 0, str(REPO / "configs/pretrain/resnet18_shapes_tiny_iid.py"), {},
                        tmp_path / "pretrain" / "iid" / "seed0")
    plan = Plan(name="t", root=tmp_path, baseline="iid", pretrain=[cell])
    assert state_of(cell, plan, "h") == PENDING
    cell.work_dir.mkdir(parents=True)
    (cell.work_dir / STATUS_FILE).write_text(json.dumps({"state": "running", "hash": "h", "pid": dead_pid()}))
    assert state_of(cell, plan, "h") == INTERRUPTED  # says running, but nobody holds the lock
    proc = holder_process(cell.work_dir, 30)
    try:
        assert state_of(cell, plan, "h") == RUNNING
    finally:
        proc.kill()
        proc.wait()
    assert state_of(cell, plan, "h") == INTERRUPTED
    assert "interrupted" in status_table(plan)


@pytest.mark.e2e
def test_two_pipelines_started_together_both_succeed_and_share_the_cells(tmp_path):
    experiment = tmp_path / "two.py"
    experiment.write_text(
        "arms = dict(random_init=None)\n"
        "demo_data = dict(coco=dict(num_train=4, num_val=2, image_size=64, seed=0),\n"
        "                 cityscapes=dict(num_train=2, num_val=1, seed=0))\n"
        "tasks = dict(pspnet_tiny=dict(cfg_options={'train_cfg.max_iters': 1}))\n")
    command = [sys.executable, str(REPO / "tools" / "pipeline.py"), str(experiment), "--runs-root", str(tmp_path)]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out + err[-3000:]
    plan = make_plan(load_experiment(str(experiment)), tmp_path)
    assert [state_of(cell, plan) for cell in plan.cells] == ["done"]
    # the cell was run by exactly one of them; the other skipped it (done, or running elsewhere)
    for cell in plan.cells:
        ran = [out for out, _ in outputs if f"{cell.name}: done in" in out]
        assert len(ran) == 1, [out for out, _ in outputs]
