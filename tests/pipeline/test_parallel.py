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
