"""Per-sample training losses recorded on the fly, and the hardest-first selection.

The losses are those of the normal training forward pass (with augmentation); no extra
forward pass is made. Under DistributedDataParallel each rank records the samples of its
shard; `close_epoch` sums the epoch's losses and counts over ranks, so every rank holds
the same table and derives the identical subset.

Non-finite losses (NaN, inf) are not added to the sums (one would poison the sample's
mean); they are counted, logged by the hook, and the sample ranks as hardest (score +inf),
so it stays in the subset where a diverging run is visible instead of being dropped.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist


class LossTable:
    """Sums, counts and the last epoch's mean loss of every sample of a dataset.

    `last` holds each sample's mean loss in the last epoch that trained on it (NaN: never yet,
    inf: a non-finite loss); `last_seen` marks the samples of the epoch just closed.
    """

    def __init__(self, num_samples: int):
        self.num_samples = num_samples
        self._epoch_sum = torch.zeros(num_samples, dtype=torch.float64)
        self._epoch_count = torch.zeros(num_samples, dtype=torch.float64)
        self._epoch_nonfinite = torch.zeros(num_samples, dtype=torch.float64)
        self.reset_interval()

    def reset_interval(self) -> None:
        """Forget the accumulated losses (after a drop or a refresh)."""
        n = self.num_samples
        self.sum = torch.zeros(n, dtype=torch.float64)
        self.count = torch.zeros(n, dtype=torch.float64)
        self.nonfinite = torch.zeros(n, dtype=torch.float64)
        self.last = torch.full((n,), float("nan"), dtype=torch.float64)
        self.last_seen = torch.zeros(n, dtype=torch.bool)  # trained on in the epoch just closed

    @torch.no_grad()
    def record(self, indices: torch.Tensor, losses: torch.Tensor) -> None:
        """Add one batch of per-sample losses (this rank's shard only)."""
        indices = indices.detach().to("cpu", torch.int64).reshape(-1)
        losses = losses.detach().to("cpu", torch.float64).reshape(-1)
        if indices.numel() != losses.numel():
            raise ValueError(f"{indices.numel()} indices but {losses.numel()} losses")
        finite = torch.isfinite(losses)
        self._epoch_sum.index_add_(0, indices[finite], losses[finite])
        self._epoch_count.index_add_(0, indices[finite], torch.ones_like(losses[finite]))
        if not bool(finite.all()):
            bad = ~finite
            self._epoch_nonfinite.index_add_(0, indices[bad], torch.ones_like(losses[bad]))

    def close_epoch(self) -> tuple[float, int, int]:
        """Reduce this epoch's records over ranks and merge them.

        Returns the epoch's (sum of finite losses, number of finite losses, number of
        non-finite losses), all over ranks.
        """
        stacked = torch.stack([self._epoch_sum, self._epoch_count, self._epoch_nonfinite])
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            # float64 sums of the same values in the same rank order: identical on all ranks
            dist.all_reduce(stacked, op=dist.ReduceOp.SUM)
        epoch_sum, epoch_count, epoch_nonfinite = stacked
        seen = epoch_count > 0
        self.last[seen] = epoch_sum[seen] / epoch_count[seen]
        self.last[epoch_nonfinite > 0] = float("inf")
        self.last_seen = seen | (epoch_nonfinite > 0)
        self.sum += epoch_sum
        self.count += epoch_count
        self.nonfinite += epoch_nonfinite
        totals = (float(epoch_sum.sum()), int(epoch_count.sum()), int(epoch_nonfinite.sum()))
        for buf in (self._epoch_sum, self._epoch_count, self._epoch_nonfinite):
            buf.zero_()
        return totals

    def scores(self, accumulate: str = "mean") -> torch.Tensor:
        """Hardness of every sample: mean (or last) loss; +inf if any loss was non-finite;
        NaN for samples never seen in the interval."""
        if accumulate == "mean":
            scores = self.sum / self.count  # 0/0 = NaN for unseen samples
            scores[self.nonfinite > 0] = float("inf")
        elif accumulate == "last":
            scores = self.last.clone()
        else:
            raise ValueError(f"accumulate must be 'mean' or 'last', got {accumulate!r}")
        return scores

    def state_dict(self) -> dict:
        return {k: getattr(self, k).clone() for k in ("sum", "count", "nonfinite", "last")}

    def load_state_dict(self, state: dict) -> None:
        for key in ("sum", "count", "nonfinite", "last"):
            value = state[key]
            if value.shape != (self.num_samples,):
                raise ValueError(
                    f"loss table '{key}' has {tuple(value.shape)} entries, dataset has {self.num_samples}"
                )
            setattr(self, key, value.clone().to(torch.float64))


def select_hardest(scores: torch.Tensor, subset: np.ndarray, keep: int) -> np.ndarray:
    """The `keep` samples of `subset` with the highest score, returned sorted by index.

    Ties break by index (lower first), and samples never seen (NaN score) rank last, so the
    result depends only on the scores: every rank computes the same subset.
    """
    subset = np.asarray(subset, dtype=np.int64)
    s = scores.numpy()[subset].copy()
    s[np.isnan(s)] = -np.inf
    # lexsort sorts by the last key first: descending score, then ascending index
    order = np.lexsort((subset, -s))
    return np.sort(subset[order[:keep]])
