"""Seed planner: how many pretraining runs (k) × fine-tuning seeds (m) per arm a claim needs.

  python tools/plan_seeds.py runs/demo --effect 1.0          # spreads and costs measured by an experiment
  python tools/plan_seeds.py --sigma-pretrain 0.15 --sigma-finetune 0.15 \\
      --cost-pretrain 320 --cost-finetune 80 --effect 0.3 --json
  ... --pretrain-runs 1 --finetune-seeds 3                   # also: what that design detects

Prints the (k, m) of least cost that reaches the power (default 0.8) for a two-sided paired t
test over pretraining runs at level α (default 0.05), that cost (2k(C_pretrain + m·C_finetune):
both arms), its power, and the minimum detectable effect of the experiment as run or as given.
From a run directory: per task and headline metric, the variance components pooled over its
pretrained arms and the runs' measured wall-clock (seconds). With one pretraining run per arm
(runs/demo) σ_pretrain is not measured: the planner then answers at σ_pretrain = 0, the fewest
runs any design needs, and at σ_pretrain = σ_finetune, an assumption it names as such
(runs/demo_crossed, `make demo-crossed`, measures both). The arithmetic is in
gather/planner.py (noncentral t), the components in gather/stats.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="?", help="a finished experiment's run directory (e.g. runs/demo): its "
                        "spreads and wall-clock per task")
    parser.add_argument("--effect", type=float, required=True, help="the effect to detect, in metric points")
    parser.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided level (default 0.05)")
    parser.add_argument("--sigma-pretrain", type=float, help="σ between backbones of one arm (points)")
    parser.add_argument("--sigma-finetune", type=float, help="σ between fine-tuning seeds of one backbone (points)")
    parser.add_argument("--cost-pretrain", type=float, help="cost of one pretraining run (any unit)")
    parser.add_argument("--cost-finetune", type=float, help="cost of one fine-tuning run (the same unit)")
    parser.add_argument("--pretrain-runs", type=int, help="k of the design as configured (for its detectable effect)")
    parser.add_argument("--finetune-seeds", type=int, help="m of the design as configured")
    parser.add_argument("--task", help="only this task (with a run directory)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = parser.parse_args(argv)
    explicit = [args.sigma_pretrain, args.sigma_finetune, args.cost_pretrain, args.cost_finetune]
    if args.runs is None and any(v is None for v in explicit):
        parser.error("give a run directory, or all of --sigma-pretrain --sigma-finetune --cost-pretrain "
                     "--cost-finetune")
    if not 0 < args.power < 1 or not 0 < args.alpha < 1:
        parser.error(f"--power and --alpha must lie in (0, 1), got {args.power} and {args.alpha}")
    if args.effect == 0:
        parser.error("--effect must be non-zero")
    if (args.pretrain_runs is None) != (args.finetune_seeds is None):
        parser.error("--pretrain-runs and --finetune-seeds go together")
    return args


def plan(sigma_pretrain, sigma_finetune, cost_pretrain, cost_finetune, args, configured=None) -> dict:
    """The planner's answer as a dict (k, m, cost, power, ...)."""
    from gather.planner import cheapest_design, minimum_detectable_effect, power

    design = cheapest_design(args.effect, sigma_pretrain, sigma_finetune, cost_pretrain, cost_finetune,
                             args.power, args.alpha)
    answer = {"effect": args.effect, "target_power": args.power, "alpha": args.alpha,
              "sigma_pretrain": sigma_pretrain, "sigma_finetune": sigma_finetune,
              "cost_pretrain": cost_pretrain, "cost_finetune": cost_finetune,
              "k": design.pretrain_runs if design else None, "m": design.finetune_seeds if design else None,
              "cost": design.cost if design else None, "power": design.power if design else None}
    if configured:
        k, m = configured
        answer["configured"] = {"k": k, "m": m,
                                "power": power(args.effect, sigma_pretrain, sigma_finetune, k, m, args.alpha),
                                "minimum_detectable_effect": minimum_detectable_effect(
                                    sigma_pretrain, sigma_finetune, k, m, args.power, args.alpha)}
    return answer


def describe(answer: dict, unit: str = "", minutes: bool = False) -> str:
    """The answer in one or two lines."""
    if answer["k"] is None:
        text = (f"effect {answer['effect']:g}: out of reach (more than 200 pretraining runs per arm at any m <= 20 "
                f"for power {answer['target_power']:g})")
    else:
        text = (f"effect {answer['effect']:g} at power {answer['target_power']:g}, α {answer['alpha']:g}: "
                f"k = {answer['k']} pretraining runs × m = {answer['m']} fine-tuning seeds per arm, cost "
                f"{answer['cost']:.4g}{unit} (both arms"
                + (f", about {answer['cost'] / 60:.0f} CPU-minutes on the machine that ran it" if minutes else "")
                + f"), power {answer['power']:.3f}")
    configured = answer.get("configured")
    if configured:
        mde = configured["minimum_detectable_effect"]
        text += (f"\n  as configured ({configured['k']} × {configured['m']}): power {configured['power']:.3f}, "
                 + (f"minimum detectable effect {mde:.3g}" if mde is not None else
                    "no test over pretraining runs (k < 2): it cannot make a claim about the methods"))
    return text


def from_runs(args) -> list[dict]:
    """One answer per task and headline metric of a finished experiment."""
    from gather.collect import collect
    from gather.variance import task_spreads

    rows, _ = collect(args.runs, warn=lambda message: None)
    answers = []
    for spread in task_spreads(rows):
        if args.task and spread.task.split()[0] != args.task:
            continue
        pooled = spread.pooled
        sigma_p = args.sigma_pretrain if args.sigma_pretrain is not None else (pooled and pooled.sigma_pretrain)
        sigma_f = args.sigma_finetune if args.sigma_finetune is not None else (pooled and pooled.sigma_finetune)
        cost_p = args.cost_pretrain if args.cost_pretrain is not None else spread.cost_pretrain_s
        cost_f = args.cost_finetune if args.cost_finetune is not None else spread.cost_finetune_s
        entry = {"task": spread.task, "metric": spread.metric, "pooled_over": list(spread.pooled_arms),
                 "df_pretrain": pooled.df_pretrain if pooled else 0, "df_finetune": pooled.df_finetune if pooled else 0}
        missing = [name for name, v in (("σ_pretrain", sigma_p), ("σ_finetune", sigma_f), ("pretraining wall-clock",
                   cost_p), ("fine-tuning wall-clock", cost_f)) if v is None]
        configured = (args.pretrain_runs, args.finetune_seeds) if args.pretrain_runs else \
            (spread.pretrain_runs, max(spread.finetune_seeds, 1))
        if missing == ["σ_pretrain"] and sigma_f:
            # one backbone per arm: σ_finetune measured, σ_pretrain not. σ_pretrain = 0 gives the
            # fewest runs any design needs; σ_pretrain = σ_finetune is an assumption, said as such
            entry["sigma_pretrain"] = None
            entry["scenarios"] = [{"assumed_sigma_pretrain": sigma, "assumption": label,
                                   **plan(sigma, sigma_f, cost_p, cost_f, args, configured)}
                                  for sigma, label in ((0.0, "σ_pretrain = 0 (the least any design needs)"),
                                                       (sigma_f, "σ_pretrain = σ_finetune (assumed)"))]
        elif missing:
            entry["error"] = (f"not measured: {', '.join(missing)} (σ_pretrain needs >= 2 pretraining runs per arm, "
                              "σ_finetune >= 2 fine-tuning seeds per backbone; or pass --sigma-pretrain etc.)")
        elif sigma_p == 0 and sigma_f == 0:
            entry["error"] = "no spread measured (every run of an arm gave the same value)"
        else:
            entry.update(plan(sigma_p, sigma_f, cost_p, cost_f, args, configured))
        answers.append(entry)
    return answers


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.runs is None:
            configured = (args.pretrain_runs, args.finetune_seeds) if args.pretrain_runs else None
            answer = plan(args.sigma_pretrain, args.sigma_finetune, args.cost_pretrain, args.cost_finetune, args,
                          configured)
            print(json.dumps(answer, indent=2) if args.json else describe(answer))
            return 0 if answer["k"] is not None else 1
        if not Path(args.runs).is_dir():
            print(f"error: {args.runs} is not a directory", file=sys.stderr)
            return 2
        answers = from_runs(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not answers:
        print(f"error: no transfer results with a headline metric under {args.runs}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"runs": str(args.runs), "tasks": answers}, indent=2))
        return 0
    for entry in answers:
        head = f"{entry['task']}, {entry['metric']}"
        if "error" in entry:
            print(f"{head}: {entry['error']}")
            continue
        if "scenarios" in entry:
            first = entry["scenarios"][0]
            print(f"{head}: σ_pretrain not measured (one pretraining run per arm; two or more measure it), "
                  f"σ_finetune {first['sigma_finetune']:.2f} (df {entry['df_finetune']}), pooled over "
                  f"{', '.join(entry['pooled_over'])}; one pretraining run {first['cost_pretrain']:.0f} s, one "
                  f"fine-tuning run {first['cost_finetune']:.0f} s")
            for scenario in entry["scenarios"]:
                print(f"  if {scenario['assumption']}: "
                      + describe(scenario, " s", minutes=True).replace("\n", "\n  "))
            continue
        print(f"{head}: σ_pretrain {entry['sigma_pretrain']:.2f} (df {entry['df_pretrain']}), σ_finetune "
              f"{entry['sigma_finetune']:.2f} (df {entry['df_finetune']}), "
              f"pooled over {', '.join(entry['pooled_over'])}; "
              f"one pretraining run {entry['cost_pretrain']:.0f} s, one fine-tuning run {entry['cost_finetune']:.0f} s")
        print("  " + describe(entry, " s", minutes=True).replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
