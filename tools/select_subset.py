"""Conditional pre-training, step 1: choose the source subset that resembles the target.

  python tools/select_subset.py configs/pretrain/resnet34_imagenet_90e_iid.py --target data/stanford_cars \
      --method domain_classifier --fraction 0.12 --out subsets/cars_dc12.json
  python tools/pretrain.py configs/pretrain/resnet34_imagenet_90e_iid.py \
      --cfg-options data.subset=subsets/cars_dc12.json

Methods: random, domain_classifier, clustering_avg, clustering_min, active, inverse_active (see
pretrain/selection.py). Selectors: linear (default here: one network's features, logistic
regressions) or target_trained (the paper's: ResNet-18s trained on the target and source vs
target; --selector-epochs/-lr/-batch-size, their training counted in the cost). The subset
file records method, fraction, seed, source, target and the selection's measured cost; the
pretraining export carries that cost beside its own.
"""

from __future__ import annotations

import argparse
import sys

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)


def main(argv=None) -> int:
    from mmengine.config import DictAction

    from pretrain.selection import DEFAULT_K, METHODS, SELECTORS
    from pretrain.selection_networks import TRAINING_DEFAULTS

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source_config", metavar="SOURCE_CONFIG", help="pretraining config of the source set")
    parser.add_argument("--target", required=True, metavar="TARGET_DATA",
                        help="target ImageFolder root (ROOT/train/<class>/*, or ROOT/<class>/*), or a VOCdevkit "
                        "root (its training images, unlabelled)")
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--fraction", required=True, type=float, help="kept share of the source, e.g. 0.12")
    parser.add_argument("--out", required=True, help="the subset file to write (JSON)")
    parser.add_argument("--seed", type=int, default=0, help="random draw, K-means init, random-init features")
    parser.add_argument("--k", type=int, default=DEFAULT_K, help="K-means clusters of the clustering methods")
    parser.add_argument("--selector", choices=SELECTORS, default="linear",
                        help="linear: features of --feature-backbone; target_trained: networks trained from it")
    parser.add_argument("--feature-backbone", default="none",
                        help="export dir or .pth of the feature network (target_trained: the networks' init); "
                        "'none': a seeded random-init ResNet-18; 'moco_v2': a ResNet-18 trained with MoCo v2 on "
                        "the target's images first, at the published 200-epoch recipe (pretrain/selection_moco.py; "
                        "its cost counts as selection cost)")
    parser.add_argument("--selector-epochs", type=int, help=f"target_trained: training epochs (default "
                        f"{TRAINING_DEFAULTS['epochs']}; a domain-classifier epoch is the target and as many "
                        "source images)")
    parser.add_argument("--selector-lr", type=float, help=f"target_trained: SGD lr, cosine to 0 (default "
                        f"{TRAINING_DEFAULTS['lr']})")
    parser.add_argument("--selector-batch-size", type=int, help=f"target_trained: batch size (default "
                        f"{TRAINING_DEFAULTS['batch_size']})")
    parser.add_argument("--feature-size", type=int, help="resolution of the feature passes (default: the "
                        "config's data.image_size)")
    parser.add_argument("--cfg-options", nargs="+", action=DictAction, help="override source config keys")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error, not one line")
    args = parser.parse_args(argv)

    from common.errors import errors_as_one_line
    from pretrain.config import load_config
    from pretrain.selection import select_subset
    from pretrain.subset import write_subset

    with errors_as_one_line(args.debug):  # a bad fraction, config or folder: one line naming it
        if not 0 < args.fraction <= 1:  # before any feature pass
            raise ValueError(f"--fraction {args.fraction:g}: the kept share of the source must be in (0, 1]")
        cfg = load_config(args.source_config, args.cfg_options)
        record = select_subset(cfg, args.source_config, args.target, args.method, args.fraction, seed=args.seed,
                               k=args.k, feature_backbone=args.feature_backbone, feature_size=args.feature_size,
                               selector=args.selector, selector_epochs=args.selector_epochs,
                               selector_lr=args.selector_lr, selector_batch_size=args.selector_batch_size)
        write_subset(args.out, record)
    cost = record["cost"]
    print(f"{args.out}: {record['method']} kept {record['size']} of {record['source']['size']} source images "
          f"({100 * record['size'] / record['source']['size']:.1f}%) for target {args.target} "
          f"({record['target']['size']} images); selection {cost['forwards']} forwards, {cost['backwards']} backwards, "
          f"{cost['flops'] / 1e9:.1f} GFLOPs, {cost['wall_clock_s']:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
