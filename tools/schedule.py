"""Print the kept fraction of every epoch of a pretraining config, and its cost.

Cost = sample-forwards relative to the i.i.d. run over the same epochs (the mean kept
fraction). Without --dataset-size, fractions are exact products of p; with it, subset
sizes are rounded as in a real run.

    python tools/schedule.py configs/pretrain/resnet50_imagenet_120e_dar.py
    python tools/schedule.py CONFIG --json
    python tools/schedule.py CONFIG --plot kept.png
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pretrain.config import load_config  # noqa: E402
from pretrain.schedule import (
    arm_params,  # noqa: E402
    simulate,  # noqa: E402
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--json", action="store_true", help='print {"cost": ..., "fractions": [...]} only')
    parser.add_argument("--plot", metavar="FILE.png", help="draw the kept fraction per epoch")
    parser.add_argument("--dataset-size", type=int, help="round subset sizes as a run on N samples does")
    args = parser.parse_args()
    cfg = load_config(args.config)
    epochs = int(cfg["train"]["epochs"])
    plan = simulate(arm_params(cfg["arm"]), epochs, args.dataset_size)
    if args.json:
        print(json.dumps({"cost": plan.cost, "fractions": plan.fractions}))
    else:
        print(f"{Path(args.config).name}: arm {cfg['arm']['name']}, {epochs} epochs")
        print(f"{'epoch':>5}  {'kept':>7}  event after the epoch")
        for epoch, (fraction, event) in enumerate(zip(plan.fractions, plan.events, strict=True), start=1):
            print(f"{epoch:>5}  {fraction:>7.4f}  {event or ''}")
        print(f"cost: {100 * plan.cost:.2f}% of the i.i.d. sample-forwards over {epochs} epochs")
    if args.plot:
        from gather.plots import plot_kept_fraction

        history = [{"epoch": e, "fraction": f} for e, f in enumerate(plan.fractions, start=1)]
        plot_kept_fraction({cfg["arm"]["name"]: {"history": history, "cost": plan.cost}}, args.plot,
                           title=Path(args.config).name)
        if not args.json:
            print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
