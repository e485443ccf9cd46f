"""A lock per cell: one process runs a cell at a time, and a crash never blocks it for good.

`cell_dir/.lock` is created with O_CREAT|O_EXCL (atomic on a local or NFSv3+ file system)
and holds {pid, start_time, host, started}. A lock is stale, and taken over with a message,
when its holder is gone: the pid is dead, or the pid now belongs to another process (its start
time differs: pid reuse after a reboot or a long run), or the file is empty or unparseable for
longer than a writer needs to fill it (GRACE_S). A lock taken on another host cannot be checked
from here and is trusted as live.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path

import psutil

LOCK_FILE = ".lock"
GRACE_S = 10.0  # a holder writes its record right after creating the file; older and empty = crashed


class CellBusy(RuntimeError):
    """A live process holds the cell's lock; `holder`: its lock record, if it could be read."""

    def __init__(self, message: str, holder: dict | None = None):
        super().__init__(message)
        self.holder = holder


def process_start_time(pid: int) -> float | None:
    """The start time of process `pid` (seconds since the epoch), None if it does not exist or
    has ended without being reaped yet (a zombie: e.g. a killed pipeline's worker whose new
    parent does not reap its children)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return process.create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return None


def _own_record() -> dict:
    pid = os.getpid()
    return {"pid": pid, "start_time": process_start_time(pid), "host": socket.gethostname(),
            "started": time.time()}


def _read(path: Path) -> dict | None:
    """The lock file's record; None if it is empty or unparseable."""
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return record if isinstance(record, dict) and "pid" in record else None


def _holder_alive(record: dict) -> bool:
    if record.get("host") != socket.gethostname():
        return True  # cannot look into another machine's process table: trust it
    try:
        pid = int(record["pid"])
    except (TypeError, ValueError):
        return False
    start = process_start_time(pid)
    if start is None:
        return False
    recorded = record.get("start_time")
    # psutil's create_time has a resolution of a clock tick; allow a second of jitter
    return recorded is None or abs(float(recorded) - start) < 1.0


def _stale_reason(path: Path) -> tuple[dict | None, str | None]:
    """(record, why it is stale) or (record, None) when a live process holds it.
    Raises FileNotFoundError when there is no lock."""
    record = _read(path)
    if record is None:
        age = time.time() - path.stat().st_mtime
        if age < GRACE_S:
            return None, None  # being written right now: treat as held
        return None, f"an empty or unreadable lock file {age:.0f} s old"
    if not _holder_alive(record):
        return record, (f"its holder pid {record.get('pid')} on {record.get('host')} (started "
                        f"{_when(record.get('start_time'))}) is no longer running")
    return record, None


def _when(timestamp) -> str:
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(timestamp)))
    except (TypeError, ValueError):
        return "?"


def describe(record: dict | None) -> str:
    if record is None:
        return "a process that is still writing the lock"
    return (f"pid {record.get('pid')} on {record.get('host')}, holding it since "
            f"{_when(record.get('started'))}")


def held_by_this_process(record: dict) -> bool:
    return record.get("pid") == os.getpid() and record.get("host") == socket.gethostname()


def lock_holder(cell_dir: Path) -> dict | None:
    """The live holder's record, or None when the cell is free or its lock is stale."""
    path = Path(cell_dir) / LOCK_FILE
    try:
        record, stale = _stale_reason(path)
    except FileNotFoundError:
        return None
    if stale:
        return None
    return record if record is not None else {"pid": None, "host": None, "started": None}


class CellLock:
    """Exclusive lock of one cell directory; a context manager.

    `acquire()` raises CellBusy when a live process holds it and takes over a stale lock (the
    `log` callable is told why). `release()` removes the file only if it is still ours.
    """

    def __init__(self, cell_dir: Path, log=lambda message: None):
        self.cell_dir = Path(cell_dir)
        self.path = self.cell_dir / LOCK_FILE
        self.log = log
        self.record: dict | None = None

    def acquire(self) -> CellLock:
        self.cell_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(10):  # each round either takes the lock, raises, or removes a stale one
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                try:
                    record, stale = _stale_reason(self.path)
                except FileNotFoundError:
                    continue  # released between our open and our read: try again
                if not stale:
                    raise CellBusy(f"{self.cell_dir} is being run by {describe(record)} "
                                   f"(lock file {self.path})", record) from None
                self._remove_stale(stale)
                continue
            record = _own_record()
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(record))
                f.flush()
                os.fsync(f.fileno())
            self.record = record
            return self
        raise CellBusy(f"could not take the lock {self.path}: other processes keep taking it")

    def _remove_stale(self, reason: str) -> None:
        """Remove a stale lock, unless someone replaced it in between (then the next round decides)."""
        # Rename first: of several processes removing the same stale lock, only one succeeds,
        # and a fresh lock created after our check is never the one removed.
        aside = self.path.with_name(f"{LOCK_FILE}.stale.{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:  # judge again what we moved: a fresh lock (a new record, or empty but young) is not stale
            _, still_stale = _stale_reason(aside)
        except FileNotFoundError:
            return
        if still_stale:
            aside.unlink(missing_ok=True)
            self.log(f"took over the stale lock {self.path}: {reason}")
        else:  # a live process locked it between our check and our rename: give it back
            try:
                os.link(aside, self.path)
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)

    def release(self) -> None:
        if self.record is None:
            return
        if _read(self.path) == self.record:
            self.path.unlink(missing_ok=True)
        self.record = None

    def __enter__(self) -> CellLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
