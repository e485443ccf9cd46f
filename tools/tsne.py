"""The DaR paper's Figure 2: t-SNE of exported backbones' penultimate features on a val set.

    python tools/tsne.py runs/demo/pretrain/iid/seed0/export runs/demo/pretrain/dar/seed0/export \\
        --dataset synthetic --out tsne.png
    python tools/tsne.py EXPORT [EXPORT ...] --dataset cifar10 --data-root data/cifar --num-samples 2000

One panel per backbone (titled with its arm and measured cost), points coloured by class.
Logic: pretrain/features.py (features), gather/plots.py (t-SNE with scikit-learn, the figure).
"""

import argparse
import sys

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)
import numpy as np

from common.errors import errors_as_one_line
from gather.plots import plot_tsne
from pretrain.data import build_datasets
from pretrain.features import load_feature_network, penultimate_features

# The val sets the suite pretrains on, as its presets configure them.
DATASETS = {
    "synthetic": dict(type="synthetic", num_train=8, num_val=400, image_size=48, data_seed=0),
    "cifar10": dict(type="cifar10", root="data/cifar", image_size=32),
    "cifar100": dict(type="cifar100", root="data/cifar", image_size=32),
    "imagenet": dict(type="imagenet", root="data/imagenet", image_size=224),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="+", help="export directories (or backbone.pth files) of stage 1")
    parser.add_argument("--dataset", choices=list(DATASETS), required=True, help="whose val set to embed")
    parser.add_argument("--data-root", help="dataset root (default: the presets' data/<dataset>)")
    parser.add_argument("--image-size", type=int, help="input size (default: the presets')")
    parser.add_argument("--num-samples", type=int, default=1000, help="val samples embedded (a random subset)")
    parser.add_argument("--seed", type=int, default=0, help="subset and t-SNE seed")
    parser.add_argument("--out", required=True, metavar="FILE.png")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error, not one line")
    args = parser.parse_args()
    data = dict(DATASETS[args.dataset])
    if args.data_root:
        data["root"] = args.data_root
    if args.image_size:
        data["image_size"] = args.image_size
    with errors_as_one_line(args.debug):  # a missing, damaged or refused export: one line naming it
        return _embed(args, data)


def _embed(args, data: dict) -> int:
    """One t-SNE panel per export, of the penultimate features of the val set; write the figure."""
    _, val = build_datasets(data, args.seed)
    rng = np.random.default_rng(args.seed)
    indices = np.sort(rng.choice(len(val), size=min(args.num_samples, len(val)), replace=False))
    panels = []
    for export in args.exports:
        net, meta = load_feature_network(export)
        features, labels = penultimate_features(net, val, indices)
        cost = f", cost {100 * meta['cost']:.1f}%" if meta.get("cost") is not None else ""
        panels.append((f"{meta['arm']} ({meta['arch']}{cost})", features, labels))
        print(f"{export}: {features.shape[0]} features of dimension {features.shape[1]}", file=sys.stderr)
    path = plot_tsne(panels, args.out, title=f"t-SNE of penultimate features, {args.dataset} val", seed=args.seed)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
