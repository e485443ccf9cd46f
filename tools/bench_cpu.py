"""CPU speed probe of the demo's work: where a cell's time goes and which CPU set-up is fastest.

Prints, side by side from one run: the median seconds of one training step of the demo's
ResNet-18 (48 px, batch 64) and of each tiny task's model (fpn_tiny, mask_rcnn_tiny,
pspnet_tiny, simplebaseline_tiny) at 2 and 1 threads, contiguous or channels_last, and two
processes stepping at once with one thread each, with the ratios (the two detectors also with
mmcv's RoIAlign kernel instead of their configs' MatmulRoIAlign, and the gain); then a cell's fixed costs
(imports, config and backbone checks, data checks, dataset and model build, Runner set-up,
test inference, the metric) apart from its training, from one short real cell per task.
How: pipeline/cpu_bench.py. The machine's other load shows in every figure alike: the
configurations alternate in rounds.

    python tools/bench_cpu.py                 # everything (a few minutes on 2 cores)
    python tools/bench_cpu.py --quick         # a smoke test: ResNet-18's steps and fpn_tiny's cell, one round
    TRANSFER_SUITE_PORTABLE_NUMERICS=1 python tools/bench_cpu.py   # with the kernels capped at AVX2
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from pipeline.cpu_bench import MODELS, RESNET, TINY_TASKS, format_probe, run_probe


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", choices=MODELS, help="default: all")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per model")
    parser.add_argument("--steps", type=int, default=4, help="steps per configuration and round")
    parser.add_argument("--fixed", nargs="*", choices=TINY_TASKS, help="tasks whose cell fixed costs to measure "
                        "(default: all; none: give the flag alone)")
    parser.add_argument("--fixed-iters", type=int, default=5, help="training iterations of those cells")
    parser.add_argument("--pretrain-epochs", type=int, default=1,
                        help="epochs of the pretraining cell whose start-up is measured (0: skip)")
    parser.add_argument("--quick", action="store_true", help="smoke test: ResNet-18's steps, 1 round of 2 steps; "
                        "fpn_tiny's cell with 2 iterations; no pretraining cell")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--log", help="the workers' output (default: a file in the temporary directory)")
    args = parser.parse_args()
    models, fixed = args.models or list(MODELS), TINY_TASKS if args.fixed is None else args.fixed
    rounds, steps, iters, epochs = args.rounds, args.steps, args.fixed_iters, args.pretrain_epochs
    if args.quick:
        models, fixed = args.models or [RESNET], ["fpn_tiny"] if args.fixed is None else args.fixed
        rounds, steps, iters, epochs = 1, 2, 2, 0
    with tempfile.TemporaryDirectory(prefix="bench_cpu_") as tmp:
        log = Path(args.log) if args.log else Path(tmp) / "workers.log"
        try:
            report = run_probe(models, rounds, steps, fixed, iters, epochs, log, Path(tmp),
                               progress=lambda line: print(line, file=sys.stderr, flush=True))
        except RuntimeError as exc:
            tail = log.read_text()[-3000:] if log.is_file() else ""
            print(f"bench_cpu: {exc}\n{tail}", file=sys.stderr)
            return 1
    print(json.dumps(report, indent=2) if args.json else format_probe(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
