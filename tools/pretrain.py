"""Stage 1: train a backbone with an arm (iid, dar, dap, reweight) and export it.

    python tools/pretrain.py configs/pretrain/resnet18_shapes_tiny_dar.py --work-dir runs/dar
    python tools/pretrain.py CONFIG --work-dir runs/dar --resume      # continue (same config only)
    python tools/pretrain.py CONFIG --work-dir runs/dar --overwrite   # replace the run there
    torchrun --nproc_per_node 8 tools/pretrain.py CONFIG --launcher pytorch
"""

import argparse
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)
from mmengine.config import DictAction

from common.distributed import close_process_group
from common.errors import errors_as_one_line
from common.workdir import WorkDirInUse
from pretrain.config import load_config
from pretrain.trainer import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config")
    parser.add_argument("--work-dir", help="default: work_dirs/pretrain/<config name>")
    parser.add_argument("--resume", action="store_true", help="continue from the newest intact checkpoint in "
                        "--work-dir (the config must equal the one the run began with)")
    parser.add_argument("--overwrite", action="store_true", help="clear --work-dir if it holds a run and start anew")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override keys, e.g. train.epochs=2")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error, not one line")
    args = parser.parse_args()
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite exclude each other")
    work_dir = args.work_dir or str(Path("work_dirs/pretrain") / Path(args.config).stem)
    # bad input, a diverged run, a refused checkpoint, a full disk: one sentence naming it
    with errors_as_one_line(args.debug, also=(WorkDirInUse,)):
        cfg = load_config(args.config, args.cfg_options)
        meta = train(cfg, work_dir, args.launcher, args.resume, args.overwrite)
    from mmengine.dist import get_rank

    if get_rank() == 0:
        print(f"export: {work_dir}/export/backbone.pth  cost {100 * meta['cost']:.1f}%  "
              f"top-1 {meta['top1']}  wall-clock {meta['wall_clock_s']:.0f} s")
    close_process_group()


if __name__ == "__main__":
    main()
