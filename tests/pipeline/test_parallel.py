"""pipeline/parallel.py's quiet hand-off: a `--jobs` worker that loses a cell to its sibling
moves on without a "running elsewhere" line; a lock held by any other process is still said."""

import os
import socket
import subprocess
import sys
from types import SimpleNamespace

from pipeline.locks import CellLock
from pipeline.parallel import is_sibling
from pipeline.run import RUNNING, run_one


def test_a_sibling_is_a_process_of_this_host_with_our_parent():
    assert is_sibling({"pid": os.getpid(), "host": socket.gethostname()})  # our parent is our parent
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not is_sibling({"pid": child.pid, "host": socket.gethostname()})  # its parent is us
    finally:
        child.kill()
        child.wait()
    assert not is_sibling({"pid": os.getpid(), "host": "another-host"})
    assert not is_sibling({"pid": None, "host": socket.gethostname()})


def test_a_busy_cell_is_skipped_quietly_only_when_its_holder_is_a_sibling(tmp_path):
    cell = SimpleNamespace(work_dir=tmp_path / "cell")
    lines = []
    with CellLock(cell.work_dir):
        quiet = run_one(cell, None, {}, "[1/1 w2] cell", log=lines.append, quiet_if_held_by=lambda holder: True)
        assert quiet == RUNNING
        assert lines == []
        assert run_one(cell, None, {}, "[1/1 w2] cell", log=lines.append, quiet_if_held_by=lambda holder: False) \
            == RUNNING
        assert run_one(cell, None, {}, "[1/1] cell", log=lines.append) == RUNNING
    assert len(lines) == 2 and all("running elsewhere, skipped" in line for line in lines)


ORPHAN_SCRIPT = """
import multiprocessing, os, sys, time
from pipeline.parallel import exit_with_parent


def child(parent):
    exit_with_parent(parent, poll_s=0.05)
    time.sleep(60)


if __name__ == "__main__":
    process = multiprocessing.get_context("spawn").Process(target=child, args=(os.getpid(),))
    process.start()
    print(process.pid, flush=True)
    time.sleep(60)
"""


def test_a_worker_stops_when_its_pipeline_is_killed(tmp_path):
    import signal
    import time

    import psutil

    script = tmp_path / "parent.py"
    script.write_text(ORPHAN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        child = psutil.Process(int(parent.stdout.readline()))
        time.sleep(0.3)
        assert child.is_running()
        parent.send_signal(signal.SIGKILL)  # no clean-up in the parent: only the child's own watch
        parent.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline:
            if not child.is_running() or child.status() == psutil.STATUS_ZOMBIE:
                break
            time.sleep(0.05)
        else:
            child.kill()
            raise AssertionError("the orphaned worker kept running")
    finally:
        parent.kill()
