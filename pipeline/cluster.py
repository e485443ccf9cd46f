"""Cells as jobs: every cell of a plan submitted to Slurm, or run in local processes, with submitit.

Each cell is one submitit job calling `CellJob()(plan, cell name, launcher)`, which runs the
cell exactly as the in-process executor does (`pipeline.run.run_one`: the cell's lock, its
status.json, resume from its last checkpoint, error.txt on failure), so a cell never runs twice
at once whichever executor started it. A cell that fails makes its job fail, so that a transfer
job submitted with `--dependency=afterok:<its pretraining job>` never starts on a missing export
(`--kill-on-invalid-dep=yes` removes it from the queue; the next submission resubmits both).

Bookkeeping lives beside the cells, in `<experiment>/submitit/<cell name>/`: submitit's pickles
and logs (`%j_0_log.out` / `.err`) and `job.json` ({executor, job_id, hash, submitted}), which
`--status` reads to show the job id and its Slurm state (squeue, then sacct) next to the cell's own state.

Resources per stage (`pretrain`, `transfer`) come from the experiment's `slurm` dict, then the
command-line flags: partition, gpus_per_node, nodes, time (minutes or [D-]HH:MM[:SS]),
cpus_per_task, mem_gb, additional (more sbatch options, e.g. dict(account="proj")). A cell of
nodes × gpus_per_node > 1 processes runs one task per GPU, through torch.distributed with
mmengine's Slurm launcher (`--launcher slurm`, as the srun commands in docs/setup.md).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import time
from pathlib import Path

import submitit
from submitit.local.local import LocalJob

from common.files import write_json_atomic
from pipeline.cells import Cell
from pipeline.experiment import Plan
from pipeline.locks import LOCK_FILE, lock_holder
from pipeline.run import (
    DONE,
    FAILED,
    RUNNING,
    _print,
    ensure_demo_data,
    ensure_targets,
    read_status,
    run_one,
    run_work,
    state_of,
    wait_until_free,
)

EXECUTORS = ("inprocess", "local", "slurm")
STAGES = ("pretrain", "transfer")
RESOURCE_KEYS = ("partition", "gpus_per_node", "nodes", "time", "cpus_per_task", "mem_gb", "additional")
DEFAULT_RESOURCES = {  # a one-GPU job; an experiment or the flags say more
    "pretrain": {"nodes": 1, "gpus_per_node": 1, "time": 24 * 60, "cpus_per_task": 8},
    "transfer": {"nodes": 1, "gpus_per_node": 1, "time": 12 * 60, "cpus_per_task": 8},
}
# Slurm states in which a submitted job may still run the cell: do not submit it again.
ACTIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD",
                 "REQUEUE_FED", "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING"}
SACCT_LAG_S = 300  # sacct may not know a job for a while after sbatch returned: UNKNOWN then means queued
JOB_FILE = "job.json"


class CellFailed(RuntimeError):
    """The cell's run failed (its error.txt says why); raised so that the job fails too."""


def parse_minutes(value) -> int:
    """Slurm's time limit in minutes, from minutes (int or "90") or "[D-]HH:MM[:SS]"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        minutes = float(value)
    else:
        text = str(value).strip()
        days, _, clock = text.rpartition("-")
        parts = clock.split(":")
        try:
            if len(parts) == 1 and not days:
                minutes = float(parts[0])
            elif len(parts) in (2, 3):
                hours, mins, secs = (int(p) for p in (parts + ["0"])[:3])
                minutes = int(days or 0) * 1440 + hours * 60 + mins + secs / 60
            else:
                raise ValueError
        except ValueError:
            raise ValueError(f"time {value!r}: give minutes (e.g. 90) or [D-]HH:MM[:SS] (e.g. 1-12:00:00)") from None
    if minutes <= 0:
        raise ValueError(f"time {value!r} must be positive")
    return max(1, int(round(minutes)))


def stage_resources(experiment_slurm: dict | None, flags: dict | None = None) -> dict[str, dict]:
    """{stage: resources}: the defaults, then the experiment's `slurm.<stage>`, then the flags
    (which apply to both stages). Unknown stages or keys are errors naming them."""
    experiment_slurm = dict(experiment_slurm or {})
    unknown = sorted(set(experiment_slurm) - set(STAGES))
    if unknown:
        raise KeyError(f"slurm: unknown stage(s) {unknown}; known: {list(STAGES)}")
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    resources = {}
    for stage in STAGES:
        given = dict(experiment_slurm.get(stage) or {})
        for source, values in ((f"slurm.{stage}", given), ("flags", flags)):
            bad = sorted(set(values) - set(RESOURCE_KEYS))
            if bad:
                raise KeyError(f"{source}: unknown resource key(s) {bad}; known: {list(RESOURCE_KEYS)}")
        merged = {**DEFAULT_RESOURCES[stage], **given, **flags}
        merged["time"] = parse_minutes(merged["time"])
        for key in ("nodes", "gpus_per_node"):
            if int(merged[key]) < (1 if key == "nodes" else 0):
                raise ValueError(f"slurm.{stage}.{key} must be >= {1 if key == 'nodes' else 0}, got {merged[key]}")
        resources[stage] = merged
    return resources


def processes(resources: dict) -> int:
    """One process per GPU (at least one per node)."""
    return int(resources["nodes"]) * max(1, int(resources["gpus_per_node"]))


def sbatch_parameters(resources: dict, job_name: str, dependency: str | None = None) -> dict:
    """submitit SlurmExecutor parameters of one cell's job (they become its #SBATCH lines)."""
    params = {
        "job_name": job_name,
        "time": int(resources["time"]),
        "nodes": int(resources["nodes"]),
        "ntasks_per_node": max(1, int(resources["gpus_per_node"])),  # one task per GPU
        "cpus_per_task": int(resources["cpus_per_task"]),
    }
    if int(resources["gpus_per_node"]):
        params["gpus_per_node"] = int(resources["gpus_per_node"])
    if resources.get("partition"):
        params["partition"] = str(resources["partition"])
    if resources.get("mem_gb"):
        params["mem"] = f"{int(resources['mem_gb'])}GB"
    additional = dict(resources.get("additional") or {})
    if dependency:
        params["dependency"] = dependency
        additional.setdefault("kill-on-invalid-dep", "yes")
    if additional:
        params["additional_parameters"] = additional
    return params


def sbatch_lines(params: dict, folder: Path) -> list[str]:
    """The #SBATCH lines submitit writes for `params` (its own script generator)."""
    from submitit.slurm.slurm import _make_sbatch_string

    text = _make_sbatch_string(command="python -m submitit.core._submit FOLDER", folder=folder, **params)
    return [line for line in text.splitlines() if line.startswith("#SBATCH")]


def job_dir(plan: Plan, cell: Cell) -> Path:
    return plan.root / "submitit" / cell.name


def read_job(plan: Plan, cell: Cell) -> dict:
    try:
        return json.loads((job_dir(plan, cell) / JOB_FILE).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def job_state(record: dict) -> str | None:
    """The scheduler's state of a recorded job, None without one. Slurm: squeue's while the job is
    in the queue (and for MinJobAge after), else sacct's (via submitit), else ENDED: the queue no
    longer has it and the cluster keeps no accounting to say how it ended."""
    if not record.get("job_id"):
        return None
    job_id = str(record["job_id"])
    if record.get("executor") != "slurm":
        return LocalJob(folder=record["folder"], job_id=job_id).state
    try:
        queue = subprocess.run(["squeue", "-h", "-t", "all", "-j", job_id, "-o", "%T"], capture_output=True, text=True,
                               timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        queue = None
    if queue is not None and queue.returncode == 0 and queue.stdout.strip():
        return queue.stdout.split()[0]
    logging.getLogger("submitit").setLevel(logging.ERROR)  # its "bypassing sacct error" warnings
    state = submitit.SlurmJob(folder=record["folder"], job_id=job_id).state
    left_queue = queue is not None and (queue.returncode == 0 or "Invalid job id" in queue.stderr)
    return "ENDED" if state == "UNKNOWN" and left_queue else state


def job_is_active(record: dict, state: str | None, now: float | None = None) -> bool:
    """Whether a recorded job may still run its cell (so the cell must not be submitted again)."""
    if not record or state is None or record.get("executor") != "slurm":
        return False  # local jobs are waited for by the command that started them
    state = state.split()[0].upper()  # "CANCELLED by 123" -> "CANCELLED"
    if state == "UNKNOWN":  # neither squeue nor sacct answered: queued if submitted just now
        return (now or time.time()) - float(record.get("submitted", 0)) < SACCT_LAG_S
    return state in ACTIVE_STATES


def release_lock_of_ended_job(plan: Plan, cell: Cell, log=_print) -> bool:
    """Remove the lock of a cell whose Slurm job has ended without releasing it (killed at its time
    limit or with its node): a lock from another host is otherwise trusted as live for good.
    Only when the lock's holder is the process that recorded that job id in status.json."""
    holder = lock_holder(cell.work_dir)
    record = read_job(plan, cell)
    if holder is None or not record or holder.get("host") == socket.gethostname():
        return False  # a lock of this host is judged by its pid (pipeline.locks)
    status = read_status(cell)
    if (status.get("job") or {}).get("job_id") != record.get("job_id") or status.get("pid") != holder.get("pid"):
        return False
    state = job_state(record)
    if job_is_active(record, state):
        return False
    (cell.work_dir / LOCK_FILE).unlink(missing_ok=True)
    log(f"{cell.name}: job {record['job_id']} ended ({state}) holding the cell's lock; lock removed")
    return True


class CellJob(submitit.helpers.Checkpointable):
    """The job: run one cell as the in-process executor does; raise CellFailed if it fails.

    Checkpointable: at its time limit or on preemption submitit requeues the same job, which
    resumes the cell from its last checkpoint. In a multi-process cell (launcher "slurm"), rank 0
    takes the cell's lock and writes its status; the other ranks join its torch.distributed group.
    """

    def __call__(self, plan: Plan, cell_name: str, launcher: str = "none", verbose: bool = False) -> str:
        cell = next((c for c in plan.cells if c.name == cell_name), None)
        if cell is None:
            raise KeyError(f"no cell {cell_name!r} in experiment {plan.name}")
        job = _this_job()
        data_roots = ensure_demo_data(plan)
        ensure_targets(plan)
        rank = int(os.environ.get("SLURM_PROCID", "0")) if launcher != "none" else 0
        if rank != 0:
            if state_of(cell, plan) == DONE:  # then rank 0 returns at once too (a requeued job)
                return DONE
            run_work(cell, plan, data_roots, launcher)
            return DONE
        _release_lock_of_earlier_run_of(job, cell)
        while True:
            state = run_one(cell, plan, data_roots, f"[job {job['job_id']}] {cell.name}", verbose,
                            launcher=launcher, job=job)
            if state != RUNNING:
                break
            wait_until_free(cell.work_dir)  # another process ran it: its outcome is ours
        if state != DONE:
            raise CellFailed(f"{cell.name}: {read_status(cell).get('error')} (see {cell.work_dir / 'error.txt'})")
        return state


def _release_lock_of_earlier_run_of(job: dict, cell: Cell) -> None:
    """A requeued job finds the lock its own killed first run left (maybe on another node)."""
    holder = lock_holder(cell.work_dir)
    status = read_status(cell)
    if (holder is not None and job.get("job_id") and (status.get("job") or {}).get("job_id") == job["job_id"]
            and status.get("pid") == holder.get("pid") and holder.get("pid") != os.getpid()):
        (cell.work_dir / LOCK_FILE).unlink(missing_ok=True)


def _this_job() -> dict:
    try:
        env = submitit.JobEnvironment()
        return {"job_id": str(env.job_id), "executor": "slurm" if "SLURM_JOB_ID" in os.environ else "local"}
    except RuntimeError:  # not inside a submitit job (called directly)
        return {"job_id": None, "executor": None}


def submit_plan(plan: Plan, executor: str, resources: dict[str, dict], log=_print,
                verbose: bool = False) -> dict[str, str]:
    """Submit every cell that is neither done nor running/queued; return {cell: what happened}.

    "slurm": everything at once, a transfer job after its pretraining job (afterok); the command
    returns while they queue. "local": each cell in its own process, in plan order, each waited
    for (no dependencies to express: a transfer cell starts after its pretraining cell ended).
    """
    if executor not in ("local", "slurm"):
        raise ValueError(f"executor must be 'local' or 'slurm' here, got {executor!r}")
    outcome, job_ids = {}, {}
    cells = plan.cells
    for i, cell in enumerate(cells, start=1):
        prefix = f"[{i}/{len(cells)}] {cell.name}"
        stage = cell.job_stage
        release_lock_of_ended_job(plan, cell, log)
        hash_ = cell.hash(plan)
        state = state_of(cell, plan, hash_)
        record = read_job(plan, cell)
        if record.get("hash") != hash_:
            record = {}  # a job of an earlier config says nothing about this one
        if state == DONE:
            log(f"{prefix}: done, skipped")
            outcome[cell.name] = DONE
            continue
        jstate = job_state(record) if record else None
        if state == RUNNING or job_is_active(record, jstate):
            if record.get("job_id"):
                job_ids[cell.name] = record["job_id"]
            log(f"{prefix}: {'running' if state == RUNNING else 'queued'}"
                f"{' as job ' + str(record['job_id']) + f' ({jstate})' if record else ' elsewhere'}, skipped")
            outcome[cell.name] = RUNNING
            continue
        blocked = _blocking_input(cell, plan, outcome, job_ids)
        if blocked:
            log(f"{prefix}: {blocked}; not submitted")
            outcome[cell.name] = FAILED
            continue
        # slurm: the job starts once its inputs' jobs succeeded (locally they ran before it)
        submitted = [job_ids[source.name] for source in cell.depends_on if source.name in job_ids]
        dependency = "afterok:" + ":".join(submitted) if submitted and executor == "slurm" else None
        folder = job_dir(plan, cell)
        folder.mkdir(parents=True, exist_ok=True)
        launcher = "slurm" if executor == "slurm" and processes(resources[stage]) > 1 else "none"
        if executor == "slurm":
            ex = submitit.SlurmExecutor(folder=folder)
            ex.update_parameters(**sbatch_parameters(resources[stage], _job_name(plan, cell), dependency))
        else:
            ex = submitit.LocalExecutor(folder=folder)
            ex.update_parameters(timeout_min=int(resources[stage]["time"]))
        job = ex.submit(CellJob(), plan, cell.name, launcher, verbose)
        write_json_atomic(folder / JOB_FILE, {"executor": executor, "job_id": str(job.job_id), "hash": hash_,
                                              "submitted": time.time(), "folder": str(folder),
                                              "dependency": dependency})
        job_ids[cell.name] = str(job.job_id)
        if executor == "slurm":
            log(f"{prefix}: submitted as job {job.job_id}" + (f" ({dependency})" if dependency else ""))
            outcome[cell.name] = "submitted"
            continue
        started = time.perf_counter()
        log(f"{prefix}: running as local job {job.job_id} (log: {cell.work_dir / 'pipeline.log'})")
        outcome[cell.name], failure = wait_for_local_job(job, cell, plan, hash_, prefix, log)
        if outcome[cell.name] == DONE:
            log(f"{prefix}: done in {time.perf_counter() - started:.0f} s")
        else:
            error = read_status(cell).get("error") or f"{failure} (the job itself failed)"
            log(f"{prefix}: FAILED after {time.perf_counter() - started:.0f} s: {error} "
                f"(traceback: {cell.work_dir / 'error.txt'}, job logs: {folder})")
    return outcome


def _blocking_input(cell: Cell, plan: Plan, outcome: dict[str, str], job_ids: dict[str, str]) -> str | None:
    """Why `cell` cannot be submitted: an input cell that failed in this submission, or one that is
    neither done nor submitted; None when every input is done or has a job."""
    for source in cell.depends_on:
        if outcome.get(source.name) == FAILED:
            return f"its {source.noun} cell {source.name} failed"
    for source in cell.depends_on:
        if source.name not in job_ids and state_of(source, plan) != DONE:
            return f"its {source.noun} cell {source.name} is neither done nor submitted"
    return None


def wait_for_local_job(job, cell: Cell, plan: Plan, hash_: str, prefix: str, log=_print) -> tuple[str, str]:
    """(DONE or FAILED, what submitit said of the job): the cell's own state once no process runs
    it any more. A local job is a wrapper (submitit's controller) and a worker it starts; a
    wrapper killed alone leaves its worker running the cell, under the cell's lock, so the job's
    end says nothing: wait for the lock, then read the cell's state (never report done a cell
    whose worker still runs)."""
    failure = ""
    try:
        job.result()  # waits for the wrapper
    except Exception as exc:  # the job's failure, re-raised by submitit: the cell's status says more
        failure = type(exc).__name__
    holder = lock_holder(cell.work_dir)
    if holder is not None:
        log(f"{prefix}: local job {job.job_id} ended while its worker (pid {holder.get('pid')}) still runs the "
            "cell; waiting for it")
        wait_until_free(cell.work_dir)
    return (DONE if state_of(cell, plan, hash_) == DONE else FAILED), failure


def _job_name(plan: Plan, cell: Cell) -> str:
    return f"{plan.name}:{cell.name}"


def dry_run_lines(plan: Plan, resources: dict[str, dict]) -> list[str]:
    """Per cell: its state and the #SBATCH lines it would be submitted with (a transfer cell
    depends on its pretraining cell's job, whose id is known only once submitted)."""
    lines = []
    for cell in plan.cells:
        stage = cell.job_stage
        inputs = cell.depends_on
        dependency = "afterok:" + ":".join(f"<job of {source.name}>" for source in inputs) if inputs else None
        state = state_of(cell, plan)
        params = sbatch_parameters(resources[stage], _job_name(plan, cell), dependency)
        launch = "torch.distributed, --launcher slurm" if processes(resources[stage]) > 1 else "one process"
        lines.append(f"{state:<11} {cell.name}  ({processes(resources[stage])} process(es), {launch})"
                     + ("  [would be skipped: done]" if state == DONE else ""))
        lines += ["    " + line for line in sbatch_lines(params, job_dir(plan, cell))]
    return lines


def job_column(plan: Plan):
    """For `status_table`: a cell's job id and scheduler state, when it was submitted."""
    def column(cell) -> str:
        record = read_job(plan, cell)
        if not record.get("job_id"):
            return ""
        return f"  [{record['executor']} job {record['job_id']}: {job_state(record)}]"
    return column
