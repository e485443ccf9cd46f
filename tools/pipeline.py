"""Run an experiment end to end: pretraining arms → exports → transfer tasks → report.

    python tools/pipeline.py configs/experiments/demo.py             # run (resumes, skips done cells)
    python tools/pipeline.py configs/experiments/demo.py --status    # done / running / failed / pending
    python tools/pipeline.py configs/experiments/demo.py --dry-run   # print the plan only

Cells run in this process one after another; each keeps its logs, status.json and, if it
failed, error.txt in its directory under runs/<experiment>/. A failed cell does not stop the
others; the exit code is 1 if any cell failed.
"""

import argparse
import sys
import time

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)
from mmengine.config import DictAction

from pipeline.experiment import load_experiment, make_plan
from pipeline.report import write_report
from pipeline.run import FAILED, cell_hash, run_plan, state_of, status_table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("experiment", help="configs/experiments/*.py")
    parser.add_argument("--runs-root", default="runs", help="parent of the experiment's run directory")
    parser.add_argument("--status", action="store_true", help="print every cell's state and exit")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and exit")
    parser.add_argument("--verbose", action="store_true", help="show the toolboxes' logs on the console too")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override experiment keys")
    args = parser.parse_args()

    plan = make_plan(load_experiment(args.experiment, args.cfg_options), args.runs_root)
    if args.status:
        print(status_table(plan))
        return 0
    if args.dry_run:
        selection = f"{len(plan.selection)} subset selection + " if plan.selection else ""
        print(f"experiment {plan.name}: {selection}{len(plan.pretrain)} pretraining + {len(plan.transfer)} transfer "
              f"cells in {plan.root}")
        for cell in plan.cells:
            origin = ""
            if hasattr(cell, "task"):
                origin = f"  <- {cell.source.name if cell.source else 'random init'}"
                origin += f", data: {cell.data_kind} (generated)" if cell.data_kind else ""
                origin += f", target: {plan.target_root(cell.target)}" if cell.target else ""
            elif hasattr(cell, "method"):  # a subset selection
                origin = f"  {cell.config} -> {plan.target_root(cell.target)} {cell.settings}"
            else:
                origin = f"  {cell.config} {cell.options or ''}"
            print(f"{state_of(cell, plan):<8} {cell.name} [{cell_hash(cell, plan)}]{origin}")
        return 0

    started = time.perf_counter()
    print(f"experiment {plan.name}: {len(plan.cells)} cells in {plan.root}")
    final = run_plan(plan, verbose=args.verbose)
    report = write_report(plan, " ".join(["tools/pipeline.py", *sys.argv[1:]]),
                          warn=lambda m: print(f"gather: {m}", file=sys.stderr))
    failed = [name for name, state in final.items() if state == FAILED]
    print(f"\nfinished in {time.perf_counter() - started:.0f} s; report: {report}")
    if failed:
        print(f"{len(failed)} cell(s) failed: {', '.join(failed)} (see error.txt in their directories)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
