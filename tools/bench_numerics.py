"""Benchmark: the AVX2 cap of common.numerics against this machine's best kernels, side by side.

Each setting trains the same ResNet-18 steps in fresh processes (the cap must be set before torch
loads), alternating, `--repeats` times: prints seconds per step, the slowdown ratio of the cap,
and whether each setting's weights are bit-identical across its runs and differ across settings.
"""

import argparse
import json
import os
import subprocess
import sys

import _bootstrap  # noqa: F401  (first: import path, numerics)

from common.numerics import PORTABLE_CPU_ENV, UNCAPPED_CPU_ENV, training_fingerprint


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(training_fingerprint(args.steps)))
        return 0
    settings = {"AVX2 cap": PORTABLE_CPU_ENV, "machine's best": UNCAPPED_CPU_ENV}
    runs = {name: [] for name in settings}
    for repeat in range(args.repeats):
        for name, env in settings.items():
            out = subprocess.run([sys.executable, __file__, "--worker", "--steps", str(args.steps)],
                                 env={**os.environ, **env}, capture_output=True, text=True, check=True)
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"[{repeat + 1}/{args.repeats}] {name}: {runs[name][-1]}", flush=True)
    best = {name: min(r["seconds_per_step"] for r in rs) for name, rs in runs.items()}
    for name, rs in runs.items():
        hashes = {r["weights_sha1"] for r in rs}
        print(f"{name:<20} {best[name]:.3f} s/step (best of {len(rs)}), kernels {rs[0]['capability']}, "
              f"weights {'identical in every run' if len(hashes) == 1 else 'DIFFER between runs'}")
    (capped, capped_runs), (uncapped, uncapped_runs) = ((best[n], runs[n]) for n in settings)
    same = capped_runs[0]["weights_sha1"] == uncapped_runs[0]["weights_sha1"]
    print(f"cap / best: {capped / uncapped:.2f}x time per step; the two settings' weights "
          f"{'agree' if same else 'differ'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
