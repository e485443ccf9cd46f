"""Print a pretraining config's plan: the fraction of the data every epoch trains on, and its cost.

Cost = training compute relative to the i.i.d. run over the configured epochs. Without
--dataset-size, fractions are exact (products of p for DaR); with it, subset sizes are rounded
as in a real run. A method whose subsets depend on the losses it will see (its cost is only
known after the run) says so instead of printing a plan.

    python tools/schedule.py configs/pretrain/resnet50_imagenet_120e_dar.py
    python tools/schedule.py CONFIG --json        # {"cost": ..., "fractions": [...]}
    python tools/schedule.py CONFIG --plot kept.png
    python tools/schedule.py CONFIG --target-cost 0.86 [--solve keep|active] [--json]
"""

import argparse
import json
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from pretrain.config import load_config, resolve_config
from pretrain.methods import build_method
from pretrain.methods.dar import DropAndRefresh
from pretrain.schedule import solve_active, solve_keep


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--json", action="store_true", help='print {"cost": ..., "fractions": [...]} only')
    parser.add_argument("--plot", metavar="FILE.png", help="draw the kept fraction per epoch")
    parser.add_argument("--dataset-size", type=int, help="round subset sizes as a run on N samples does")
    parser.add_argument("--target-cost", type=float, metavar="C",
                        help="solve a drop-and-refresh arm's keep fraction p (or α) for cost C, e.g. 0.86")
    parser.add_argument("--solve", choices=["keep", "active"], default="keep",
                        help="the parameter --target-cost solves for (default: keep)")
    args = parser.parse_args()
    cfg = load_config(args.config)
    epochs = int(cfg["train"]["epochs"])
    solved = None
    if args.target_cost is not None:
        method = build_method(cfg["arm"], None, epochs)
        if not isinstance(method, DropAndRefresh):
            parser.error("--target-cost solves a drop-and-refresh arm (dar, dap, random_drop), "
                         f"not {cfg['arm']['name']!r}")
        solve = solve_keep if args.solve == "keep" else solve_active
        try:
            rule = solve(method.rule, epochs, args.target_cost)
        except ValueError as exc:  # out of reach: one line with the reachable range, exit 2
            print(f"error: --target-cost {args.target_cost} (--solve {args.solve}): {exc}", file=sys.stderr)
            return 2
        solved = {args.solve: getattr(rule, args.solve)}
        cfg["arm"][args.solve] = solved[args.solve]
    method = build_method(cfg["arm"], args.dataset_size, epochs, int(resolve_config(cfg)["seed"]))
    plan = method.plan()
    name = cfg["arm"]["name"]
    if plan is None:
        note = (f"method {name!r} chooses its subsets from the losses it sees: its cost is only known "
                "after the run (the export's `cost`)")
        print(json.dumps({"cost": None, "fractions": None, "note": note}) if args.json else note)
        return 0
    if args.json:
        print(json.dumps({"cost": plan.cost, "fractions": plan.fractions, **({"solved": solved} if solved else {})}))
    else:
        if solved:
            print(f"solved for cost {100 * args.target_cost:.2f}%: {args.solve} = {solved[args.solve]} "
                  f"(arm: {dict(cfg['arm'])})")
        print(f"{Path(args.config).name}: arm {name}, {epochs} configured epochs, {len(plan.sizes)} trained")
        print(f"{'epoch':>5}  {'kept':>7}  event after the epoch")
        for epoch, (fraction, event) in enumerate(zip(plan.fractions, plan.events, strict=True), start=1):
            print(f"{epoch:>5}  {fraction:>7.4f}  {event or ''}")
        print(f"cost: {100 * plan.cost:.2f}% of the i.i.d. training compute over {epochs} epochs")
    if args.plot:
        from gather.plots import plot_kept_fraction

        history = [{"epoch": e, "fraction": f} for e, f in enumerate(plan.fractions, start=1)]
        plot_kept_fraction({name: {"history": history, "cost": plan.cost}}, args.plot,
                           title=Path(args.config).name)
        if not args.json:
            print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
