"""Stage 2 CLI: fine-tune a stage-1 backbone on one downstream task (logic in transfer/).

  python tools/transfer.py --list
  python tools/transfer.py --task fpn_tiny --backbone runs/pretrain/iid [--seed 0]
  python tools/transfer.py --task pspnet --backbone none --dry-run --dump-config pspnet.py
  python tools/transfer.py --task mask_rcnn_gn --backbone none --schedule 6x --dry-run
  python tools/transfer.py --task fpn_tiny --backbone EXPORT --work-dir W --resume   # after a stop
  python tools/transfer.py --task fpn_tiny --backbone EXPORT --amp   # mixed precision
  torchrun --nproc_per_node 8 tools/transfer.py --task fpn --backbone X --launcher pytorch
"""

from __future__ import annotations

import argparse
import json
import sys

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)


def parse_args(argv=None) -> argparse.Namespace:
    from mmengine.config import DictAction

    from common.vocab import SCHEDULES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="list the tasks and exit")
    parser.add_argument("--task", help="task name (see --list)")
    parser.add_argument("--backbone", help="stage-1 export dir, backbone .pth, or 'none' "
                        "(random-init arm)")
    parser.add_argument("--arch", help="torchvision arch of a plain checkpoint without "
                        "backbone.json, e.g. resnet50")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work-dir", help="run directory (default work_dirs/transfer/"
                        "<task>/<arm>_seed<seed>)")
    parser.add_argument("--data-root", help="dataset root for the task's datasets")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, default=None,
                        help="config overrides, key=value (mmengine DictAction)")
    parser.add_argument("--launcher", choices=["none", "pytorch", "slurm"], default="none")
    parser.add_argument("--auto-scale-lr", action="store_true",
                        help="scale the lr linearly to the run's batch (processes x per-process) from the "
                        "recipe's (auto_scale_lr.base_batch_size); without it a differing batch is noted")
    parser.add_argument("--schedule", choices=list(SCHEDULES), default=None,
                        help="detection tasks: the task's 1x scaled as in Rethinking ImageNet "
                        "Pre-training (iterations and lr steps; default: the config's own, 1x)")
    parser.add_argument("--amp", action="store_true",
                        help="mixed precision as the toolboxes' --amp: AmpOptimWrapper, float16 with dynamic "
                        "loss scaling on GPU (bfloat16 on CPU); recorded in results.json protocol.amp")
    parser.add_argument("--resume", action="store_true",
                        help="continue from the newest intact checkpoint in --work-dir, if any (the config "
                        "must equal the one the run began with)")
    parser.add_argument("--overwrite", action="store_true",
                        help="clear --work-dir if it holds a run and start anew")
    parser.add_argument("--allow-unexpected-keys", action="store_true",
                        help="load a checkpoint that has tensors of modules the backbone lacks (another "
                        "architecture's), instead of refusing it")
    parser.add_argument("--dry-run", action="store_true", help="build config and model, "
                        "check the backbone contract, stop before reading data")
    parser.add_argument("--dump-config", metavar="FILE.py", help="write the run's effective "
                        "config (every _base_ level, overrides, backbone, seed) as one file")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error, not one line")
    parser.add_argument("--local_rank", "--local-rank", type=int, default=0,
                        help=argparse.SUPPRESS)  # torch.distributed.launch passes it
    args = parser.parse_args(argv)
    if not args.list and (args.task is None or args.backbone is None):
        parser.error("--task and --backbone are required (or --list)")
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite exclude each other")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        from transfer.tasks import describe_tasks

        print(describe_tasks())
        return 0
    from common.distributed import close_process_group
    from common.errors import errors_as_one_line
    from common.workdir import WorkDirInUse
    from transfer.request import TransferRequest
    from transfer.run import run_transfer

    with errors_as_one_line(args.debug, also=(WorkDirInUse,)):  # bad input, a refused file: a sentence naming it
        result = run_transfer(TransferRequest.from_args(args))
    print(json.dumps(result if args.dry_run else result["metrics"], indent=2))
    close_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
