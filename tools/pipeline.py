"""Run an experiment end to end: pretraining arms → exports → transfer tasks → report.

    python tools/pipeline.py configs/experiments/demo.py             # run (resumes, skips done cells)
    python tools/pipeline.py configs/experiments/demo.py --status    # done / running / failed / pending
    python tools/pipeline.py configs/experiments/demo.py --dry-run   # print the plan only
    python tools/pipeline.py configs/experiments/demo.py --timing    # where each finished cell's time went
    python tools/pipeline.py configs/experiments/demo.py --jobs 2    # two cells at a time, one thread each

    python tools/pipeline.py EXPERIMENT --executor slurm --partition gpu --gpus-per-node 8 --time 2-00:00:00
    python tools/pipeline.py EXPERIMENT --executor slurm --dry-run    # the sbatch parameters per cell
    python tools/pipeline.py EXPERIMENT --executor local              # each cell in its own process

An experiment file is Python and runs when it is loaded (also for --status and --dry-run):
run only experiment files you trust.

By default cells run in this process one after another; `--executor slurm` submits every cell
as a Slurm job at once (submitit; a transfer job after its pretraining job), `--executor local`
runs the same jobs as local processes; `--jobs N` runs N independent cells at a time in worker
processes (pipeline/parallel.py), a transfer cell once its pretraining is done. Each cell keeps
its logs, status.json and, if it failed, error.txt in its directory under runs/<experiment>/. A
failed cell does not stop the others; the exit code is 1 if any cell failed.
"""

import argparse
import sys
import time
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)
from mmengine.config import DictAction

from common.errors import errors_as_one_line
from pipeline.experiment import load_experiment, make_plan
from pipeline.report import write_report
from pipeline.run import DONE, FAILED, RUNNING, run_plan, state_of, status_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", help="configs/experiments/*.py")
    parser.add_argument("--runs-root", default="runs", help="parent of the experiment's run directory")
    parser.add_argument("--status", action="store_true", help="print every cell's state and exit")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    parser.add_argument("--timing", action="store_true",
                        help="print where each finished cell's time went (start-up, training, evaluation) and exit")
    parser.add_argument("--verbose", action="store_true", help="show the toolboxes' logs on the console too")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override experiment keys")
    parser.add_argument("--executor", choices=["inprocess", "local", "slurm"], default="inprocess",
                        help="inprocess (default): here, one cell after another; slurm: one submitit job per "
                        "cell, submitted at once; local: the same jobs as local processes")
    parser.add_argument("--jobs", type=int, default=1,
                        help="in-process executor: run this many independent cells at a time, in worker processes "
                        "with cores/jobs torch threads each (default 1: one cell after another, here)")
    jobs = parser.add_argument_group("job resources (both stages; else the experiment's `slurm`, else 1 GPU)")
    jobs.add_argument("--partition")
    jobs.add_argument("--gpus-per-node", type=int, help="one process per GPU (torch.distributed)")
    jobs.add_argument("--nodes", type=int)
    jobs.add_argument("--time", help="time limit per job: minutes or [D-]HH:MM[:SS]")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error in the experiment, "
                        "not one line (a failed cell's traceback is in its error.txt)")
    args = parser.parse_args()

    as_jobs = args.executor != "inprocess"
    given = [f"--{k.replace('_', '-')}" for k in ("partition", "gpus_per_node", "nodes", "time")
             if getattr(args, k) is not None]
    if given and not as_jobs:
        parser.error(f"{', '.join(given)}: job resources, for --executor slurm or local")
    if args.jobs < 1 or (args.jobs > 1 and as_jobs):
        parser.error(f"--jobs {args.jobs}: a count >= 1, for the in-process executor")
    # jobs may start elsewhere (another node, another working directory): absolute cell paths
    runs_root = Path(args.runs_root).resolve() if as_jobs else args.runs_root
    with errors_as_one_line(args.debug):  # a bad key, name, arm or control: one line naming it
        experiment = load_experiment(args.experiment, args.cfg_options)
        plan = make_plan(experiment, runs_root)
    if args.status or args.dry_run:
        plan.memo = {}  # read-only: each config is read once, whatever number of cells use it
    if as_jobs or args.status:
        from pipeline import cluster

        flags = {"partition": args.partition, "gpus_per_node": args.gpus_per_node, "nodes": args.nodes,
                 "time": args.time}
        try:
            resources = cluster.stage_resources(experiment.get("slurm"), flags)
        except (KeyError, ValueError) as exc:
            parser.error(str(exc).strip("'\""))
    if args.status:
        print(status_table(plan, extra=cluster.job_column(plan)))
        return 0
    if args.timing:
        from pipeline.timing import timing_table

        print(timing_table(plan))
        return 0
    if args.dry_run and args.executor == "slurm":
        print(f"experiment {plan.name}: {len(plan.cells)} cells in {plan.root}; sbatch parameters per cell:")
        print("\n".join(cluster.dry_run_lines(plan, resources)))
        return 0
    if args.dry_run:
        selection = f"{len(plan.selection)} subset selection + " if plan.selection else ""
        print(f"experiment {plan.name}: {selection}{len(plan.pretrain)} pretraining + {len(plan.transfer)} transfer "
              f"cells in {plan.root}")
        for cell in plan.cells:
            print(f"{state_of(cell, plan):<8} {cell.name} [{cell.hash(plan)}]{cell.describe(plan)}")
        return 0

    started = time.perf_counter()
    print(f"experiment {plan.name}: {len(plan.cells)} cells in {plan.root}"
          + (f" ({args.executor} executor)" if as_jobs else ""))
    if as_jobs:
        final = cluster.submit_plan(plan, args.executor, resources, verbose=args.verbose)
        if args.executor == "slurm" and set(final.values()) != {DONE}:
            waiting = sum(1 for state in final.values() if state != DONE and state != FAILED)
            print(f"\n{waiting} cell(s) submitted or queued; follow them with --status. Re-run this command once "
                  "they have finished: it resubmits failed cells and, when every cell is done, writes the report.")
            return 1 if FAILED in final.values() else 0
    elif args.jobs > 1:
        from pipeline.parallel import run_parallel

        final = run_parallel(plan, args.jobs, verbose=args.verbose)
    else:
        final = run_plan(plan, verbose=args.verbose)
    report = write_report(plan, " ".join(["tools/pipeline.py", *sys.argv[1:]]),
                          warn=lambda m: print(f"gather: {m}", file=sys.stderr))
    # --jobs: a cell a worker left unfinished (it ended abnormally) counts as failed
    failed = [name for name, state in final.items()
              if state == FAILED or (args.jobs > 1 and state not in (DONE, RUNNING))]
    print(f"\nfinished in {time.perf_counter() - started:.0f} s; report: {report}")
    if failed:
        print(f"{len(failed)} cell(s) failed: {', '.join(failed)} (see error.txt in their directories)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
