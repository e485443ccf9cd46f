"""Execute a plan: pretrain → export → transfer for every cell, resumably.

Each cell directory holds `status.json` ({"state", "hash", "pid", "host", "started",
"finished", "error"}) and, once finished, its artifact (export/backbone.json or results.json).
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
from common.provenance import config_hash
from common.vocab import BACKBONE_META, RESULTS_FILE
from gather.headline import format_headline
from pipeline.experiment import Plan, PretrainCell, SelectionCell, TransferCell
from pipeline.locks import CellBusy, CellLock, describe, held_by_this_process, lock_holder

STATUS_FILE = "status.json"
DONE, RUNNING, FAILED, PENDING = "done", "running", "failed", "pending"
INTERRUPTED = "interrupted"  # status.json says running, but no live process holds the cell's lock
STATES = (DONE, RUNNING, INTERRUPTED, FAILED, PENDING)
WAIT_POLL_S = 2.0  # how often a pipeline looks whether a cell running elsewhere has finished


def selection_hash(cell: SelectionCell) -> str:
    """What decides a subset: the source's resolved config, the target, method, fraction, seed
    and the selection settings."""
    from pretrain.config import load_config
    from pretrain.trainer import plain_config

    return config_hash({"source": plain_config(load_config(cell.config)), "target": cell.target_spec,
                        "method": cell.method, "fraction": cell.fraction, "seed": cell.seed, **cell.settings})


def pretrain_hash(cell: PretrainCell) -> str:
    """The config hash stage 1 writes into its export (pretrain.trainer.plain_config); for a run
    on a selected subset also the selection's hash (the subset file's path alone says nothing)."""
    from pretrain.config import load_config
    from pretrain.trainer import plain_config

    plain = config_hash(plain_config(load_config(cell.config, cell.options)))
    return plain if cell.selection is None else config_hash([plain, selection_hash(cell.selection)])


def memoized(plan: Plan, key: tuple, compute):
    """compute(), remembered in plan.memo when the caller turned it on (a dry run or a status of
    a large plan reads every config once, not once per cell that uses it)."""
    if plan.memo is None:
        return compute()
    if key not in plan.memo:
        plan.memo[key] = compute()
    return plan.memo[key]


def _recipe_hash(cell: TransferCell) -> str:
    from transfer.build import recipe_hash, resolve_task_config
    from transfer.classification import SCOPE, classification_recipe_hash

    task, cfg = resolve_task_config(cell.task, cell.cfg_options or None, schedule=cell.schedule)
    return classification_recipe_hash(cfg) if task.scope == SCOPE else recipe_hash(cfg)


def transfer_hash(cell: TransferCell, plan: Plan) -> str:
    """What decides a transfer cell's result: the resolved task config (every `_base_` level,
    the overrides and the schedule), seed, generated data, backbone."""
    recipe = memoized(plan, ("recipe", cell.task, json.dumps(cell.cfg_options, sort_keys=True, default=str),
                             cell.schedule), lambda: _recipe_hash(cell))
    backbone = memoized(plan, ("pretrain", cell.source.name), lambda: pretrain_hash(cell.source)) \
        if cell.source else "none"
    return config_hash({
        "task": cell.task, "recipe": recipe, "seed": cell.seed,
        "data": plan.demo_data.get(cell.data_kind) if cell.data_kind else None,
        "backbone": backbone,
        **({"target": plan.targets[cell.target]} if cell.target else {}),
    })


def schedule_text(cell, plan: Plan | None = None) -> str:
    """"3x: 270000 iterations, lr x0.1 at 210000, 250000 (1x: ...)" for a detection transfer
    cell (its scaled schedule, as the run will train it); "" for any other cell."""
    from common.vocab import SCHEDULED_FAMILIES
    from transfer.build import resolve_task_config
    from transfer.schedule import recorded_schedule
    from transfer.tasks import get_task

    if not isinstance(cell, TransferCell) or get_task(cell.task).family not in SCHEDULED_FAMILIES:
        return ""

    def describe() -> str:
        _, cfg = resolve_task_config(cell.task, cell.cfg_options or None, schedule=cell.schedule)
        return recorded_schedule(cfg).describe()

    if plan is None:
        return describe()
    return memoized(plan, ("schedule", cell.task, json.dumps(cell.cfg_options, sort_keys=True, default=str),
                           cell.schedule), describe)


def cell_hash(cell, plan: Plan) -> str:
    if isinstance(cell, SelectionCell):
        return memoized(plan, ("selection", cell.name), lambda: selection_hash(cell))
    if isinstance(cell, PretrainCell):
        return memoized(plan, ("pretrain", cell.name), lambda: pretrain_hash(cell))
    return memoized(plan, ("transfer", cell.name), lambda: transfer_hash(cell, plan))


def artifact(cell) -> Path:
    if isinstance(cell, SelectionCell):
        return cell.subset_file
    return cell.export_dir / BACKBONE_META if isinstance(cell, PretrainCell) else cell.work_dir / RESULTS_FILE


def read_status(cell) -> dict:
    path = cell.work_dir / STATUS_FILE
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def state_of(cell, plan: Plan, hash_: str | None = None) -> str:
    """done / running / interrupted / failed / pending, from the cell's files and its lock."""
    hash_ = hash_ or cell_hash(cell, plan)
    status = read_status(cell)
    holder = lock_holder(cell.work_dir)
    if holder is not None and not held_by_this_process(holder):
        return RUNNING  # whatever status.json says: another live process is at it right now
    if status.get("hash") == hash_:
        if status.get("state") == DONE and artifact(cell).is_file():
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


def _write_status(cell, **fields) -> None:
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


def _run_selection(cell: SelectionCell, plan: Plan) -> str:
    from pretrain.config import load_config
    from pretrain.selection import select_subset
    from pretrain.subset import write_subset

    record = select_subset(load_config(cell.config), cell.config, str(plan.target_root(cell.target)), cell.method,
                           cell.fraction, seed=cell.seed, cache_dir=str(plan.root / "selection" / "features"),
                           **cell.settings)
    write_subset(cell.subset_file, record)
    return (f"kept {record['size']} of {record['source']['size']}, {record['cost']['forwards']} forwards, "
            f"{record['cost']['wall_clock_s']:.0f} s")


def _run_pretrain(cell: PretrainCell, plan: Plan, launcher: str = "none") -> str:
    from pretrain.config import load_config
    from pretrain.trainer import train

    if cell.selection is not None and state_of(cell.selection, plan) != DONE:
        raise RuntimeError(f"its selection cell {cell.selection.name} has no subset file "
                           f"(state: {state_of(cell.selection, plan)})")
    meta = train(load_config(cell.config, cell.options), str(cell.work_dir), launcher=launcher, resume=True)
    return f"top-1 {meta['top1']:.1f}%, cost {100 * meta['cost']:.1f}%" if meta["top1"] is not None else ""


def _run_transfer(cell: TransferCell, plan: Plan, data_roots: dict, launcher: str = "none") -> str:
    from transfer.request import TransferRequest
    from transfer.run import run_transfer

    source_state = state_of(cell.source, plan) if cell.source is not None else DONE
    if source_state == RUNNING:  # another pipeline pretrains it: wait rather than fail
        wait_until_free(cell.source.work_dir)
        source_state = state_of(cell.source, plan)
    if source_state != DONE:
        raise RuntimeError(f"its pretraining cell {cell.source.name} has no export (state: {source_state})")
    backbone = str(cell.source.export_dir) if cell.source else "none"
    data_root = plan.target_root(cell.target) if cell.target else data_roots.get(cell.data_kind)
    results = run_transfer(TransferRequest(cell.task, backbone, seed=cell.seed, work_dir=str(cell.work_dir),
                                           cfg_options=cell.cfg_options or None, data_root=data_root, resume=True,
                                           schedule=cell.schedule, launcher=launcher))
    return format_headline(cell.task, results["metrics"])


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


def run_one(cell, plan: Plan, data_roots: dict, prefix: str, verbose: bool = False, log=_print,
            launcher: str = "none", job: dict | None = None) -> str:
    """Run one cell under its lock, or skip it if another process holds the lock; its final
    state. What every executor calls: run_plan here, and each job of pipeline.cluster (`job`:
    its {job_id, executor}, recorded in status.json; `launcher`: torch.distributed's)."""
    try:
        with CellLock(cell.work_dir, log=lambda m: log(f"{prefix}: {m}")) as lock:
            return _run_cell(cell, plan, data_roots, prefix, lock, verbose, log, launcher, job)
    except CellBusy as busy:
        log(f"{prefix}: running elsewhere, skipped ({busy})")
        return RUNNING


def _run_cell(cell, plan: Plan, data_roots: dict, prefix: str, lock: CellLock, verbose: bool, log,
              launcher: str = "none", job: dict | None = None) -> str:
    """Run one cell whose lock we hold; return its final state."""
    hash_ = cell_hash(cell, plan)
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
            if isinstance(cell, SelectionCell):
                summary = _run_selection(cell, plan)
            elif isinstance(cell, PretrainCell):
                summary = _run_pretrain(cell, plan, launcher)
            else:
                summary = _run_transfer(cell, plan, data_roots, launcher)
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
