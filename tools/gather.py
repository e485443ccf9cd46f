"""Stage 3 CLI: every results.json / backbone.json under a directory -> the paper's tables.

  python tools/gather.py work_dirs                       # markdown on stdout
  python tools/gather.py work_dirs --format tex --out tables.tex --plots figures/
  python tools/gather.py work_dirs --baseline torchvision --format csv
  python tools/gather.py runs/cifar10_classification --experiment configs/experiments/cifar10_classification.py
Unreadable files and unknown tasks are warned about on stderr and skipped (logic in gather/).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from common.files import atomic_path
from common.vocab import IID
from gather.render import RENDERERS, render
from gather.tables import gather_tables


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", help="searched recursively for results.json and "
                        "backbone.json")
    parser.add_argument("--baseline", default=IID, help="the arm every Δ is taken against")
    parser.add_argument("--format", choices=list(RENDERERS), default="md")
    parser.add_argument("--out", help="write the tables to this file instead of stdout")
    parser.add_argument("--plots", help="also write PNG figures into this directory")
    parser.add_argument("--experiment", help="an experiment config: T2-T4 print its `original_paper` "
                        "numbers beside the measured arms (tools/pipeline.py's report does so by itself)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not Path(args.results_dir).is_dir():
        print(f"gather: {args.results_dir} is not a directory", file=sys.stderr)
        return 2
    original_paper = None
    if args.experiment:
        from pipeline.experiment import load_experiment

        try:
            original_paper = load_experiment(args.experiment).get("original_paper")
        except (OSError, KeyError, ValueError) as exc:
            print(f"gather: {exc.args[0] if exc.args else exc}", file=sys.stderr)
            return 2
    tables, pretrain = gather_tables(args.results_dir, args.baseline, original_paper=original_paper)
    if not tables:
        print(f"gather: no usable results.json or backbone.json under {args.results_dir}",
              file=sys.stderr)
        return 1
    text = render(tables, args.format)
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text)
        print(f"gather: wrote {len(tables)} tables to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.plots:
        from gather.collect import collect
        from gather.plots import plot_all  # matplotlib only when figures are asked for

        transfer, _ = collect(args.results_dir, warn=lambda message: None)  # warned above
        for path in plot_all(tables, pretrain, args.plots, args.baseline, transfer):
            print(f"gather: wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
