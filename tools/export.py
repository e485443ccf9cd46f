"""Export the backbone of any pretraining checkpoint (torchvision keys + metadata JSON).

    python tools/export.py work_dirs/pretrain/x/epoch_6.pth --out work_dirs/pretrain/x/export_e6
"""

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from common.errors import errors_as_one_line
from pretrain.hook import export_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--out", help="default: <checkpoint dir>/export_<checkpoint name>")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error, not one line")
    args = parser.parse_args()
    ckpt = Path(args.checkpoint)
    if not ckpt.is_file():
        sys.exit(f"error: checkpoint not found: {ckpt}")
    out = args.out or str(ckpt.parent / f"export_{ckpt.stem}")
    with errors_as_one_line(args.debug):  # bad input (a refused or damaged file): one sentence naming it
        print(f"wrote {export_checkpoint(str(ckpt), out)}")


if __name__ == "__main__":
    main()
