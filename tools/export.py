"""Export the backbone of any pretraining checkpoint (torchvision keys + metadata JSON).

    python tools/export.py work_dirs/pretrain/x/epoch_6.pth --out work_dirs/pretrain/x/export_e6
"""

import argparse
import sys
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

from pretrain.hook import export_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoint")
    parser.add_argument("--out", help="default: <checkpoint dir>/export_<checkpoint name>")
    args = parser.parse_args()
    ckpt = Path(args.checkpoint)
    if not ckpt.is_file():
        sys.exit(f"checkpoint not found: {ckpt}")
    out = args.out or str(ckpt.parent / f"export_{ckpt.stem}")
    try:
        print(f"wrote {export_checkpoint(str(ckpt), out)}")
    except (KeyError, ValueError) as exc:  # bad input: one sentence naming the file
        sys.exit(f"error: {exc.args[0] if isinstance(exc, KeyError) else exc}")


if __name__ == "__main__":
    main()
