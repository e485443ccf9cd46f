"""Benchmark the DaR machinery on CPU, side by side in one process (our machines are noisy).

(a) overhead: per-iteration time of the DaR loop (SubsetSampler + LossTable.record every
    iteration + close/rank/select at the epoch end) vs the same loop with a plain
    RandomSampler; also the bookkeeping's own time measured directly, as a share of the loop.
(b) saving: epoch time on a DaR subset of fraction f vs on the full set; realized/nominal
    saving = (1 − t_subset / t_full) / (1 − f).
(c) throughput: images/s of the training loop.
Arms alternate (A B A B ...) and the medians are compared. Targets: overhead <= 1%,
realized/nominal saving >= 0.97.

    python tools/bench_pretrain.py [--arch resnet18] [--samples 1024] [--repeats 5] [--json]
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from pretrain.data import CIFAR_MEAN, CIFAR_STD, SyntheticShapes, build_transform  # noqa: E402
from pretrain.loss_table import LossTable, select_hardest  # noqa: E402
from pretrain.models import build_network  # noqa: E402
from pretrain.sampler import SubsetSampler  # noqa: E402
from pretrain.schedule import num_kept  # noqa: E402
from pretrain.trainer import _collate  # noqa: E402


def run_epoch(model, optimizer, loader, table=None) -> tuple[float, float, int]:
    """One training epoch; returns (seconds, seconds spent in DaR bookkeeping, images)."""
    bookkeeping = 0.0
    images = 0
    start = time.perf_counter()
    for batch in loader:
        logits = model(batch["inputs"])
        losses = torch.nn.functional.cross_entropy(logits, batch["label"], reduction="none")
        optimizer.zero_grad(set_to_none=True)
        losses.mean().backward()
        optimizer.step()
        images += len(losses)
        if table is not None:
            t = time.perf_counter()
            table.record(batch["index"], losses.detach())
            bookkeeping += time.perf_counter() - t
    if table is not None:  # the epoch-end work of a drop: reduce, rank, select
        t = time.perf_counter()
        table.close_epoch()
        kept = select_hardest(table.scores("mean"), loader.sampler.subset, num_kept(0.9, loader.sampler.subset.size))
        bookkeeping += time.perf_counter() - t
        assert kept.size > 0
    return time.perf_counter() - start, bookkeeping, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--fraction", type=float, default=0.6561, help="subset fraction for (b); 0.9^4")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    torch.manual_seed(0)
    dataset = SyntheticShapes(args.samples, args.image_size,
                              build_transform("cifar", True, args.image_size, CIFAR_MEAN, CIFAR_STD))
    model = build_network(args.arch, dataset.num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def plain_loader():
        sampler = torch.utils.data.RandomSampler(dataset, generator=torch.Generator().manual_seed(0))
        return torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, collate_fn=_collate)

    def subset_loader(fraction):
        sampler = SubsetSampler(len(dataset), seed=0, batch_size=args.batch_size)
        rng = np.random.default_rng(0)
        sampler.set_subset(rng.choice(len(dataset), round(fraction * len(dataset)), replace=False))
        return torch.utils.data.DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, collate_fn=_collate)

    table = LossTable(len(dataset))
    run_epoch(model, optimizer, plain_loader())  # warm-up: allocator, oneDNN kernels
    plain, dar, share, full, sub = [], [], [], [], []
    n_full = n_sub = 0
    for r in range(args.repeats):
        t, _, n = run_epoch(model, optimizer, plain_loader())
        plain.append(t / n)
        t, b, n = run_epoch(model, optimizer, subset_loader(1.0), table)
        dar.append(t / n)
        share.append(b / t)
        full.append(t)
        n_full = n
        t, _, n_sub = run_epoch(model, optimizer, subset_loader(args.fraction), table)
        sub.append(t)
        print(f"repeat {r + 1}/{args.repeats}: plain {1e3 * plain[-1]:.2f} ms/img, "
              f"DaR loop {1e3 * dar[-1]:.2f} ms/img, subset epoch {sub[-1]:.2f} s vs full {full[-1]:.2f} s",
              file=sys.stderr)

    med = statistics.median
    nominal = n_sub / n_full
    realized = med(sub) / med(full)
    out = {
        "arch": args.arch, "samples": args.samples, "image_size": args.image_size,
        "batch_size": args.batch_size, "repeats": args.repeats, "threads": torch.get_num_threads(),
        "overhead_loop_ratio": med(dar) / med(plain) - 1.0,
        "overhead_bookkeeping_share": med(share),
        "nominal_fraction": nominal,
        "realized_time_ratio": realized,
        "realized_over_nominal_saving": (1 - realized) / (1 - nominal),
        "images_per_s": 1.0 / med(dar),
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{args.arch}, {args.samples} synthetic images of {args.image_size}px, batch {args.batch_size}, "
          f"{out['threads']} threads, median of {args.repeats} alternating repeats")
    print(f"(a) DaR loop vs plain loop, per image: {100 * out['overhead_loop_ratio']:+.2f}% "
          f"(bookkeeping measured directly: {100 * out['overhead_bookkeeping_share']:.3f}% of the loop; target <= 1%)")
    print(f"(b) subset epoch / full epoch: {realized:.3f} for a nominal {nominal:.3f}; "
          f"realized/nominal saving {out['realized_over_nominal_saving']:.3f} (target >= 0.97)")
    print(f"(c) throughput: {out['images_per_s']:.0f} images/s")


if __name__ == "__main__":
    main()
