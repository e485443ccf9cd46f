"""Benchmark stage 1's real training loop per method, side by side with a plain PyTorch loop.

Prints, per method, the bookkeeping's share of the loop (target <= 1%, in-batch <= 3%), the
realized/nominal saving of the subset methods (target >= 0.97), and the suite's i.i.d. images/s
over a plain PyTorch loop's (`suite_over_plain`, goal >= 0.97). How: pretrain/benchmark.py.

    python tools/bench_pretrain.py [--methods iid dar ...] [--samples 1024] [--epochs 10] [--json]
    python tools/bench_pretrain.py --moco-ratio [--arch resnet18 --image-size 32 --batch-size 64 --steps 10]
"""

import argparse
import json
import sys

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from common.vocab import IID
from pretrain.benchmark import benchmark_methods, format_moco_ratio, format_report, moco_step_ratio, run_benchmark


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--methods", nargs="+", default=benchmark_methods(),
                        help="methods to run (default: every method of pretrain/methods and $TRANSFER_SUITE_METHODS), "
                             "each from its configs/pretrain/resnet18_shapes_tiny_<method>.py preset, else the "
                             "i.i.d. preset with the method's defaults")
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=10, help="epochs per method (the first is left out)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--moco-ratio", action="store_true",
                        help="instead: time a MoCo v2 step against a supervised step on the same batch "
                             "(--arch, --image-size, --batch-size; --steps alternating steps) and print the ratio")
    parser.add_argument("--steps", type=int, default=10, help="steps of each for --moco-ratio")
    args = parser.parse_args()
    if args.moco_ratio:
        result = moco_step_ratio(args.arch, args.image_size, args.batch_size, args.steps)
        print(json.dumps(result, indent=2) if args.json else format_moco_ratio(result))
        return 0
    if IID not in args.methods:
        parser.error("--methods must include iid (the plain-loop comparison runs beside it)")
    summary = run_benchmark(args.methods, args.samples, args.image_size, args.epochs, args.batch_size, args.arch,
                            log=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(summary, indent=2) if args.json else format_report(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
