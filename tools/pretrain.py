"""Stage 1: train a backbone with an arm (iid, dar, dap, reweight) and export it.

    python tools/pretrain.py configs/pretrain/resnet18_shapes_tiny_dar.py --work-dir runs/dar
    torchrun --nproc_per_node 8 tools/pretrain.py CONFIG --launcher pytorch
"""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)
from mmengine.config import DictAction

from pretrain.config import load_config
from pretrain.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--work-dir", help="default: work_dirs/pretrain/<config name>")
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --work-dir")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override keys, e.g. train.epochs=2")
    args = parser.parse_args()
    cfg = load_config(args.config, args.cfg_options)
    work_dir = args.work_dir or str(Path("work_dirs/pretrain") / Path(args.config).stem)
    meta = train(cfg, work_dir, args.launcher, args.resume)
    from mmengine.dist import get_rank

    if get_rank() == 0:
        print(f"export: {work_dir}/export/backbone.pth  cost {100 * meta['cost']:.1f}%  "
              f"top-1 {meta['top1']}  wall-clock {meta['wall_clock_s']:.0f} s")


if __name__ == "__main__":
    main()
