"""Run by test_sampler.py under torchrun (2 CPU processes, gloo): one DaR epoch per rank.

Each rank records the losses of its own shard only, the table is reduced across ranks, and
every rank selects the hardest half; the result is saved per rank for the test to compare.
"""

import datetime
import sys

import torch
import torch.distributed as dist

from pretrain.loss_table import LossTable, select_hardest
from pretrain.sampler import SubsetSampler

N = 23


def known_losses() -> torch.Tensor:
    """A known hardness order, with one NaN that must neither crash nor poison the ranking."""
    losses = torch.linspace(0, 1, N, dtype=torch.float64).roll(7)
    losses[4] = float("nan")
    return losses


def main(out_dir: str) -> None:
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    try:
        losses = known_losses()
        sampler = SubsetSampler(N, seed=5)
        table = LossTable(N)
        sampler.set_epoch(0)
        seen = [i for i, _ in sampler]
        idx = torch.tensor(seen)
        table.record(idx, losses[idx])
        table.close_epoch()
        kept = select_hardest(table.scores("mean"), sampler.subset, 11)
        torch.save({"seen": seen, "kept": kept, "count": table.count}, f"{out_dir}/rank{dist.get_rank()}.pt")
        # no process tears the group down while the other may still be in its last collective;
        # exiting with the group alive can abort a gloo rank (common.distributed.close_process_group)
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
