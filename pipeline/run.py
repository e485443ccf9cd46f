"""Execute a plan: pretrain → export → transfer for every cell, resumably.

Each cell directory holds `status.json` ({"state", "hash", "pid", "host", "started",
"finished", "error"}) and, once finished, its artifact (subset.json, export/backbone.json or
results.json; pipeline.cells).
A cell whose artifact exists for the same hash is skipped; a half-finished one resumes from its
last checkpoint; a failed one keeps its traceback in `error.txt` and does not stop the
others (they run, and the pipeline exits non-zero at the end). A cell directory left by a
different config (another hash) is moved aside to `<dir>.stale`, never resumed.

A cell runs under its lock (`pipeline/locks.py`, `<cell>/.lock`): "running" means a live
process holds it; a status that says running without a live lock is "interrupted" (a crash or
a kill) and resumes on the next run. Two pipelines on the same experiment share the work: a
cell locked by the other one is skipped ("running elsewhere"), a transfer cell whose
pretraining cell is running elsewhere waits for it, and the demo data is generated under a
lock too, so neither fails because of the other.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from common.files import write_json_atomic
from pipeline.cells import Cell
from pipeline.experiment import Plan
from pipeline.locks import CellBusy, CellLock, describe, held_by_this_process, lock_holder

STATUS_FILE = "status.json"
DONE, RUNNING, FAILED, PENDING = "done", "running", "failed", "pending"
INTERRUPTED = "interrupted"  # status.json says running, but no live process holds the cell's lock
STATES = (DONE, RUNNING, INTERRUPTED, FAILED, PENDING)
WAIT_POLL_S = 2.0  # how often a pipeline looks whether a cell running elsewhere has finished


def read_status(cell: Cell) -> dict:
    path = cell.work_dir / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def state_of(cell: Cell, plan: Plan, hash_: str | None = None) -> str:
    """done / running / interrupted / failed / pending, from the cell's files and its lock."""
    hash_ = hash_ or cell.hash(plan)
    status = read_status(cell)
    holder = lock_holder(cell.work_dir)
    if holder is not None and not held_by_this_process(holder):
        return RUNNING  # whatever status.json says: another live process is at it right now
    if status.get("hash") == hash_:
        if status.get("state") == DONE and cell.artifact.is_file():
            return DONE
        if status.get("state") == RUNNING:
            return INTERRUPTED
        if status.get("state") == FAILED:
            return FAILED
    return PENDING


def wait_until_free(cell_dir: Path, poll_s: float = WAIT_POLL_S) -> None:
    """Block while a live process holds the cell's lock."""
    while lock_holder(cell_dir) is not None:
        time.sleep(poll_s)


def _write_status(cell: Cell, **fields) -> None:
    write_json_atomic(cell.work_dir / STATUS_FILE, {**read_status(cell), **fields})


@contextlib.contextmanager
def _captured(log_path: Path, verbose: bool):
    """Send the toolboxes' per-iteration console output to the cell's log unless verbose."""
    if verbose:
        yield
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        try:
            yield
        finally:
            _repoint_handlers(log)


class _CurrentStderr:
    """A stream that writes to whatever sys.stderr is at the time of writing."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _repoint_handlers(stream) -> None:
    """Loggers made while a cell's output was redirected (mmengine makes one per Runner and keeps
    using the last one for its warnings) hold StreamHandlers on the cell's log file, which is
    about to close: later messages (the report's config checks) raised "I/O operation on closed
    file". Point them at the current stderr instead (the next cell's log, or the console)."""
    from mmengine.logging import MMLogger

    # MMLogger instances bypass logging.getLogger, so they are not in the manager's dict
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger)),
               *MMLogger._instance_dict.values()]
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
                handler.setStream(_CurrentStderr())


def ensure_demo_data(plan: Plan) -> dict[str, Path]:
    """Generate the embedded downstream data (deterministic, idempotent) → {kind: root}.
    Under a lock: a second pipeline waits instead of writing the same files at the same time."""
    if not plan.demo_data:
        return {}
    from transfer.synthetic import make_cityscapes_scenes, make_coco_scenes, make_voc_scenes

    roots = {"coco": plan.root / "data" / "coco", "cityscapes": plan.root / "data" / "cityscapes",
             "voc": plan.root / "data" / "voc"}
    while True:
        try:
            with CellLock(plan.root / "data"):
                make_coco_scenes(roots["coco"], **dict(plan.demo_data.get("coco") or {}))
                make_cityscapes_scenes(roots["cityscapes"], **dict(plan.demo_data.get("cityscapes") or {}))
                if "voc" in plan.demo_data:  # only the VOC tasks read it
                    make_voc_scenes(roots["voc"], **dict(plan.demo_data["voc"]))
            return roots
        except CellBusy:
            wait_until_free(plan.root / "data")


def ensure_targets(plan: Plan) -> None:
    """Generate the conditional experiment's generated targets (deterministic, idempotent)."""
    from pretrain.synthetic import write_shapes_folder

    for name, spec in plan.targets.items():
        if spec.get("generate"):
            write_shapes_folder(plan.target_root(name), **dict(spec["generate"]))


def run_work(cell: Cell, plan: Plan, data_roots: dict, launcher: str = "none") -> str:
    """Run a cell once its inputs are done (waiting for one that another process makes right
    now); its one-line summary. Raises if an input is not done."""
    for source in cell.depends_on:
        source_state = state_of(source, plan)
        if source_state == RUNNING:  # another pipeline makes it: wait rather than fail
            wait_until_free(source.work_dir)
            source_state = state_of(source, plan)
        if source_state != DONE:
            raise RuntimeError(f"its {source.noun} cell {source.name} has no {source.artifact_noun} "
                               f"(state: {source_state})")
    return cell.run(plan, data_roots, launcher)


def _print(message: str) -> None:
    print(message, flush=True)  # progress must show at once, also when stdout is a file


def run_plan(plan: Plan, verbose: bool = False, log=_print) -> dict[str, str]:
    """Run every cell not done yet; return {cell name: final state}."""
    data_roots = ensure_demo_data(plan)
    ensure_targets(plan)
    final = {}
    cells = plan.cells
    for i, cell in enumerate(cells, start=1):
        final[cell.name] = run_one(cell, plan, data_roots, f"[{i}/{len(cells)}] {cell.name}", verbose, log)
    return final


def run_one(cell: Cell, plan: Plan, data_roots: dict, prefix: str, verbose: bool = False, log=_print,
            launcher: str = "none", job: dict | None = None, quiet_if_held_by=None) -> str:
    """Run one cell under its lock, or skip it if another process holds the lock; its final
    state. What every executor calls: run_plan here, and each job of pipeline.cluster (`job`:
    its {job_id, executor}, recorded in status.json; `launcher`: torch.distributed's).
    `quiet_if_held_by(lock record)`: True skips a busy cell without a line (a sibling worker
    of `--jobs` took it a moment earlier: nothing the user needs to read)."""
    try:
        with CellLock(cell.work_dir, log=lambda m: log(f"{prefix}: {m}")) as lock:
            return _run_cell(cell, plan, data_roots, prefix, lock, verbose, log, launcher, job)
    except CellBusy as busy:
        if not (quiet_if_held_by and busy.holder and quiet_if_held_by(busy.holder)):
            log(f"{prefix}: running elsewhere, skipped ({busy})")
        return RUNNING


def _run_cell(cell: Cell, plan: Plan, data_roots: dict, prefix: str, lock: CellLock, verbose: bool, log,
              launcher: str = "none", job: dict | None = None) -> str:
    """Run one cell whose lock we hold; return its final state."""
    hash_ = cell.hash(plan)
    state = state_of(cell, plan, hash_)
    if state == DONE:
        log(f"{prefix}: {state}, skipped")
        return state
    old = read_status(cell)
    if old and old.get("hash") != hash_:
        stale = cell.work_dir.with_name(cell.work_dir.name + ".stale")
        shutil.rmtree(stale, ignore_errors=True)
        lock.release()
        cell.work_dir.rename(stale)  # made by another config: never resume from it
        lock.acquire()  # raises CellBusy if another pipeline took the new directory meanwhile
        log(f"{prefix}: directory of an earlier config moved to {stale}")
    elif state == INTERRUPTED:
        log(f"{prefix}: interrupted earlier (pid {old.get('pid')}), resuming")
    (cell.work_dir / "error.txt").unlink(missing_ok=True)
    _write_status(cell, state=RUNNING, hash=hash_, pid=os.getpid(), host=lock.record["host"],
                  started=time.time(), finished=None, error=None, job=job)
    log(f"{prefix}: running (log: {cell.work_dir / 'pipeline.log'})")
    started = time.perf_counter()
    try:
        with _captured(cell.work_dir / "pipeline.log", verbose):
            summary = run_work(cell, plan, data_roots, launcher)
    except Exception as exc:  # one failed cell must not stop the others
        (cell.work_dir / "error.txt").write_text(traceback.format_exc())
        _write_status(cell, state=FAILED, finished=time.time(), error=f"{type(exc).__name__}: {exc}")
        log(f"{prefix}: FAILED after {time.perf_counter() - started:.0f} s: {type(exc).__name__}: "
            f"{exc} (traceback: {cell.work_dir / 'error.txt'})")
        return FAILED
    _write_status(cell, state=DONE, finished=time.time())
    log(f"{prefix}: done in {time.perf_counter() - started:.0f} s {summary}")
    return DONE


def status_table(plan: Plan, extra=None) -> str:
    """One line per cell: its state, who runs a running one, the error of a failed one, and
    `extra(cell)` (pipeline.cluster: its job id and Slurm state)."""
    lines, counts = [], dict.fromkeys(STATES, 0)
    for cell in plan.cells:
        state = state_of(cell, plan)
        counts[state] += 1
        line = f"{state:<11} {cell.name}"
        if state == RUNNING:
            line += f"  ({describe(lock_holder(cell.work_dir))})"
        elif state == INTERRUPTED:
            status = read_status(cell)
            line += (f"  (pid {status.get('pid')} stopped without finishing; the next run resumes it "
                     f"from its last checkpoint)")
        elif state == FAILED:
            line += f"  ({read_status(cell).get('error')}; see {cell.work_dir / 'error.txt'})"
        lines.append(line + (extra(cell) if extra else ""))
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items()))
    return "\n".join(lines)
