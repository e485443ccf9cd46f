"""A distributed sampler over the indices a method chose for the epoch, reshuffled every epoch.

Only the chosen indices are iterated, so dropped samples are never loaded or decoded; a
method may repeat indices or fix their order (`shuffle=False`). Each item
is a `(index, epoch)` pair: the dataset derives that sample's augmentation randomness from
(seed, epoch, index), which makes a run independent of worker count and resumable to the
same weights. The shuffle uses its own generator seeded by (seed, epoch); the global RNGs
are never touched.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import torch
from mmengine.dist import get_dist_info


class SubsetSampler(torch.utils.data.Sampler):
    """Shards the epoch's indices (shuffled unless told otherwise) across ranks; `len()` is
    this rank's true epoch length."""

    def __init__(self, dataset_size: int, seed: int = 0, shuffle: bool = True, batch_size: int | None = None):
        if dataset_size <= 0:
            raise ValueError("SubsetSampler needs a non-empty dataset")
        self.dataset_size = dataset_size
        self.seed = int(seed)
        self.shuffle = shuffle
        self.batch_size = batch_size
        self.epoch = 0
        self.subset = np.arange(dataset_size, dtype=np.int64)  # the epoch's indices, in order

    def set_indices(self, indices, shuffle: bool = True) -> None:
        """The next epochs iterate these indices (repeats allowed), shuffled or in this order."""
        indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        if indices.size == 0 or indices.min() < 0 or indices.max() >= self.dataset_size:
            raise ValueError(f"an epoch needs non-empty indices in [0, {self.dataset_size})")
        self.subset = indices.copy()
        self.shuffle = bool(shuffle)

    def set_subset(self, indices) -> None:
        """A subset of distinct samples, reshuffled every epoch."""
        self.set_indices(np.unique(np.asarray(indices, dtype=np.int64)), shuffle=True)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _order(self) -> np.ndarray:
        if not self.shuffle:
            return self.subset
        rng = np.random.default_rng([self.seed, self.epoch])
        return self.subset[rng.permutation(self.subset.size)]

    def __iter__(self) -> Iterator[tuple[int, int]]:
        rank, world_size = get_dist_info()
        total = len(self) * world_size
        order = np.resize(self._order(), total)  # pad cyclically: every rank runs the same steps
        for index in order[rank:total:world_size]:
            yield int(index), self.epoch

    def __len__(self) -> int:
        return per_rank_length(self.subset.size, get_dist_info()[1], self.batch_size)


def per_rank_length(subset_size: int, world_size: int, batch_size: int | None = None) -> int:
    """Samples per rank per epoch: the subset split evenly, padded by repetition.

    One more sample is added when the last batch would hold a single sample: BatchNorm
    cannot train on a batch of one (1x1 feature maps at the end of a ResNet on 32px input).
    """
    length = math.ceil(subset_size / world_size)
    if batch_size and length > 1 and length % batch_size == 1:
        length += 1
    return length
