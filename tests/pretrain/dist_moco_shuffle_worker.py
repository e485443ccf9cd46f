"""Run by test_moco.py under torchrun (2 CPU processes, gloo): MoCo's shuffle-BN key encoding.

The key encoder is replaced by a per-sample function (no BN), so the keys that come back through
the gather, shuffle, encode-elsewhere, gather, unshuffle path must equal the keys encoded in
place; each rank holds `sizes[rank]` images (unequal: an in-batch selection's shares). Then
three training steps with shares that differ per rank and per step.
"""

import datetime
import sys

import torch
import torch.distributed as dist
import torch.nn.functional as F

from pretrain.moco import MoCoV2


def main(out_dir: str, sizes: list[int]) -> None:
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    try:
        rank = dist.get_rank()
        torch.manual_seed(0)
        model = MoCoV2("resnet10", dim=8, queue_size=6)
        model.key_net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 8))
        model.train()
        images = torch.randn(sizes[rank], 3, 8, 8, generator=torch.Generator().manual_seed(rank))
        keys = model.encode_keys(images)
        with torch.no_grad():
            direct = F.normalize(model.key_net(images), dim=1)
        # training steps whose shares differ per process and per step (the last batch of an
        # in-batch selection): the same collectives on both, and the same queue afterwards
        torch.manual_seed(0)
        trained = MoCoV2("resnet10", dim=8, queue_size=6).train()  # the real key encoder, with BN
        for step, share in enumerate([(3, 2), (2, 4), (4, 2)]):
            views = torch.randn(share[rank], 2, 3, 8, 8, generator=torch.Generator().manual_seed(10 * step + rank))
            trained.contrast(views)
        torch.save({"keys": keys, "direct": direct, "queue": trained.queue, "queue_ptr": trained.queue_ptr,
                    "steps": trained.steps}, f"{out_dir}/rank{rank}.pt")
        # no process tears the group down while the other may still be in its last collective
        dist.barrier()
    finally:
        dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1], [int(v) for v in sys.argv[2:]])
