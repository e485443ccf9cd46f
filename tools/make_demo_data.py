"""Generate the demo's downstream data: OUT_DIR/coco (COCO 2017 layout) and OUT_DIR/cityscapes.

Deterministic and idempotent: a second run with the same arguments returns at once.
Example: python tools/make_demo_data.py data/generated --seed 0
"""

import argparse
import time

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from transfer.synthetic import (
    make_cityscapes_scenes,
    make_coco_scenes,
    read_manifest,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="parent directory of coco/ and cityscapes/")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    for name, make in (("coco", make_coco_scenes), ("cityscapes", make_cityscapes_scenes)):
        start = time.perf_counter()
        paths = make(f"{args.out_dir}/{name}", seed=args.seed)
        manifest = read_manifest(paths["root"])
        print(f"{name}: {manifest['num_files']} files, {manifest['counts']} "
              f"({time.perf_counter() - start:.2f} s)")
        for key, path in paths.items():
            print(f"  {key:18s} {path}")


if __name__ == "__main__":
    main()
