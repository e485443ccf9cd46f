"""Independent cells at the same time: `tools/pipeline.py EXPERIMENT --jobs 2`.

`jobs` worker processes share one plan, each with cores/jobs torch threads (one each on a
2-core machine: a ResNet-18 step scales poorly over two threads, 0.445 s at 2 and 0.767 s at 1
on the AVX2-only EPYC of issue 26, so two 1-thread processes do about 16% more steps per second,
and far more when other work shares the machine; tools/bench_cpu.py measures it; a cell's
single-threaded parts, its start-up, data loading and metric, overlap with the other's
training). Each worker imports the toolboxes once and keeps them for all its cells. Every worker picks, in plan order,
the next cell whose inputs are finished (a transfer cell's pretraining export, a pretraining
cell's subset) and runs it through `pipeline.run.run_one`, under the cell's lock: a cell is
never run twice at once, and a cell locked by the other worker (without a line: both reach the
first ready cell at once), or by another pipeline altogether (said), is left to it. A cell
that failed in this run is not retried by the other worker (a new run of the command retries
it, as without --jobs). A worker whose pipeline process is gone (killed: Ctrl-C reaches the
workers too) stops within a second instead of running on beside the next run (`exit_with_parent`).

The cells compute what the sequential pipeline computes at the workers' thread count, in
another order. Another thread count computes other numbers (torch's reductions split the work
differently; docs/results.md, "The demo's numbers"): `--jobs 2` on 2 cores matches
`OMP_NUM_THREADS=1 tools/pipeline.py`, not a default 2-thread run. The thread count is in every
results.json (`timing.threads`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import sys
import threading
import time

from pipeline.cells import Cell
from pipeline.experiment import Plan
from pipeline.run import (
    DONE,
    FAILED,
    RUNNING,
    WAIT_POLL_S,
    _print,
    ensure_demo_data,
    ensure_targets,
    read_status,
    run_one,
    state_of,
)


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """torch threads for each of `jobs` workers on `cores` cores (at least 1)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, jobs))


def settled(cell: Cell, plan: Plan, since: float) -> str | None:
    """DONE if the cell is done; FAILED if it failed in this run (status finished after
    `since`); None otherwise (pending, interrupted, running, or failed in an earlier run)."""
    state = state_of(cell, plan)
    if state == DONE:
        return DONE
    if state == FAILED and float(read_status(cell).get("finished") or 0) >= since:
        return FAILED
    return None


def is_sibling(holder: dict) -> bool:
    """Whether a cell's lock is held by another worker of this `--jobs` run (a process on this
    host with our parent): both workers reach the first ready cell at once, and the one that
    loses it just moves on."""
    import psutil

    pid = holder.get("pid")
    if not isinstance(pid, int) or holder.get("host") != socket.gethostname():
        return False  # psutil.Process(None) would be this process
    try:
        return psutil.Process(pid).ppid() == os.getppid()
    except psutil.Error:
        return False


PARENT_POLL_S = 1.0
PARENT_GONE_EXIT = 3


def exit_with_parent(parent: int, poll_s: float = PARENT_POLL_S) -> threading.Thread:
    """End this process (exit code PARENT_GONE_EXIT) once `parent` is no longer its parent.

    A pipeline killed with SIGTERM or SIGKILL does not take its spawned workers with it: they
    would go on running cells for a run nobody waits for, beside (and into the cells of) the next
    run. The cell in progress is left as a crash leaves it: its checkpoints are whole, its lock
    names a dead process, and the next run resumes it."""
    def watch():
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent:
                _print(f"the pipeline (pid {parent}) has ended: worker {os.getpid()} stops")
                os._exit(PARENT_GONE_EXIT)

    watcher = threading.Thread(target=watch, name="exit-with-parent", daemon=True)
    watcher.start()
    return watcher


def worker(plan: Plan, data_roots: dict, since: float, tag: str, threads: int, verbose: bool,
           parent: int | None = None) -> None:
    """One worker's loop: run ready cells until every cell is settled for this run."""
    import torch

    if parent is not None:
        exit_with_parent(parent)
    torch.set_num_threads(threads)
    index = {cell.name: i for i, cell in enumerate(plan.cells, start=1)}
    pending = list(plan.cells)
    while pending:
        started_one = False
        for cell in list(pending):
            if settled(cell, plan, since) is not None:
                pending.remove(cell)
                continue
            if any(settled(source, plan, since) is None for source in cell.depends_on):
                continue  # its input is still pending or being made elsewhere: come back to it
            prefix = f"[{index[cell.name]}/{len(plan.cells)} {tag}] {cell.name}"
            state = run_one(cell, plan, data_roots, prefix, verbose, log=_print, quiet_if_held_by=is_sibling)
            if state == RUNNING:
                continue  # another worker took it meanwhile
            pending.remove(cell)
            started_one = True
            break  # back to the start: plan order puts the inputs first
        if pending and not started_one:
            time.sleep(WAIT_POLL_S)


@contextlib.contextmanager
def _main_script_importable():
    """spawn re-runs the main script in every child, with the parent's sys.path; a tool's first
    line, `import _bootstrap`, took the tool's folder off that path (tools/_bootstrap.py), so
    the child could not import it. While the children start, the folder is on the path again,
    last (it shadows no package), and the child's _bootstrap takes it off again."""
    main_file = getattr(sys.modules["__main__"], "__file__", None)
    folder = os.path.dirname(os.path.abspath(main_file)) if main_file else None
    added = folder is not None and folder not in sys.path
    if added:
        sys.path.append(folder)
    try:
        yield
    finally:
        if added:
            sys.path.remove(folder)


def run_parallel(plan: Plan, jobs: int, verbose: bool = False) -> dict[str, str]:
    """Run every cell not done yet with `jobs` worker processes; {cell name: final state}."""
    data_roots = ensure_demo_data(plan)
    ensure_targets(plan)
    since = time.time()
    threads = threads_per_job(jobs)
    context = multiprocessing.get_context("spawn")  # no fork of a process that holds torch's threads
    workers = [context.Process(target=worker,
                               args=(plan, data_roots, since, f"w{i + 1}", threads, verbose, os.getpid()))
               for i in range(jobs)]
    _print(f"{jobs} workers, {threads} torch thread(s) each")
    with _main_script_importable():
        for process in workers:
            process.start()
    for process in workers:
        process.join()
    bad = [p.exitcode for p in workers if p.exitcode]
    if bad:
        _print(f"{len(bad)} worker(s) ended abnormally (exit codes {bad}): the cells they left are not done")
    # running: another pipeline's; interrupted or pending: left by a worker that ended abnormally
    return {cell.name: state_of(cell, plan) for cell in plan.cells}
