"""SubsetSampler: only the subset, sharded, reshuffled per epoch, true length; and the
loss table under real torch.distributed (2 CPU processes, gloo)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain.loss_table import select_hardest
from pretrain.sampler import SubsetSampler, per_rank_length


def test_iterates_only_the_subset_with_epoch_pairs():
    s = SubsetSampler(10, seed=3)
    s.set_subset([7, 2, 5])
    s.set_epoch(4)
    items = list(s)
    assert sorted(i for i, _ in items) == [2, 5, 7]
    assert {e for _, e in items} == {4}
    assert len(s) == 3


def test_reshuffles_per_epoch_deterministically_without_global_rng():
    s = SubsetSampler(50, seed=1)
    torch.manual_seed(0)
    np.random.seed(0)
    state = (torch.get_rng_state(), np.random.get_state()[1].copy())
    s.set_epoch(0)
    a = [i for i, _ in s]
    s.set_epoch(1)
    b = [i for i, _ in s]
    s.set_epoch(0)
    assert [i for i, _ in s] == a
    assert a != b and sorted(a) == sorted(b) == list(range(50))
    assert torch.equal(state[0], torch.get_rng_state())
    assert (state[1] == np.random.get_state()[1]).all()


def test_per_rank_length_pads_evenly_and_avoids_singleton_batches():
    assert per_rank_length(10, 3) == 4
    assert per_rank_length(9, 1, batch_size=4) == 10  # 9 % 4 == 1 -> one more
    assert per_rank_length(8, 1, batch_size=4) == 8


def test_bad_subset_is_rejected():
    s = SubsetSampler(5)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        s.set_subset([1, 5])
    with pytest.raises(ValueError):
        s.set_subset([])


@pytest.mark.e2e
def test_two_ranks_reduce_losses_and_derive_the_identical_subset(tmp_path, free_port):
    worker = Path(__file__).with_name("dist_loss_table_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
           "--master_addr", "127.0.0.1", "--master_port", str(free_port), str(worker), str(tmp_path)]
    # gloo picks its network interface from the hostname; loopback keeps it on this machine
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    try:
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"torchrun timed out; its output:\n{exc.stdout}\n{exc.stderr}") from None
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0, r1 = (torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2))
    # 23 samples on 2 ranks: 12 each, one repeated as padding; together all of them
    assert len(r0["seen"]) == len(r1["seen"]) == 12
    assert sorted(set(r0["seen"]) | set(r1["seen"])) == list(range(23))
    assert np.array_equal(r0["kept"], r1["kept"])
    assert torch.equal(r0["count"], r1["count"])
    # the same selection as one process that saw every loss, the NaN ranking as hardest
    losses = torch.linspace(0, 1, 23, dtype=torch.float64).roll(7)
    losses[4] = float("inf")
    assert np.array_equal(r0["kept"], select_hardest(losses, np.arange(23), 11))
    assert 4 in r0["kept"]

