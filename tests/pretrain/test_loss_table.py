"""LossTable accumulation, non-finite handling and hardest-first selection, exactly."""

import math

import numpy as np
import pytest
import torch

from pretrain.loss_table import LossTable, select_hardest


def test_mean_and_last_accumulate_over_epochs():
    t = LossTable(4)
    t.record(torch.tensor([0, 1, 2]), torch.tensor([1.0, 2.0, 3.0]))
    assert t.close_epoch() == (6.0, 3, 0)
    t.record(torch.tensor([0, 1, 2, 2]), torch.tensor([3.0, 0.0, 5.0, 7.0]))
    t.close_epoch()
    mean = t.scores("mean")
    assert mean[:3].tolist() == [2.0, 1.0, 5.0]  # sample 2: (3 + 5 + 7) / 3
    assert math.isnan(mean[3])  # never seen
    assert t.scores("last")[:3].tolist() == [3.0, 0.0, 6.0]


def test_nonfinite_losses_do_not_poison_and_rank_hardest():
    t = LossTable(3)
    t.record(torch.tensor([0, 1, 2]), torch.tensor([1.0, float("nan"), 2.0]))
    t.record(torch.tensor([1]), torch.tensor([0.5]))
    assert t.close_epoch() == (3.5, 3, 1)
    scores = t.scores("mean")
    assert scores[1] == float("inf")
    assert t.sum.tolist() == [1.0, 0.5, 2.0]  # the NaN was not added
    assert select_hardest(scores, np.arange(3), 1).tolist() == [1]


def test_select_hardest_ties_break_by_index_and_unseen_rank_last():
    scores = torch.tensor([1.0, 3.0, 3.0, float("nan"), 2.0, 3.0], dtype=torch.float64)
    subset = np.array([0, 1, 2, 3, 4, 5])
    assert select_hardest(scores, subset, 2).tolist() == [1, 2]
    assert select_hardest(scores, subset, 5).tolist() == [0, 1, 2, 4, 5]
    assert select_hardest(scores, np.array([5, 0, 3]), 2).tolist() == [0, 5]


def test_state_dict_round_trip_and_shape_check():
    t = LossTable(3)
    t.record(torch.tensor([2]), torch.tensor([4.0]))
    t.close_epoch()
    u = LossTable(3)
    u.load_state_dict(t.state_dict())
    assert torch.equal(u.scores("mean").nan_to_num(-1), t.scores("mean").nan_to_num(-1))
    with pytest.raises(ValueError, match="'sum' has \\(3,\\) entries, dataset has 4"):
        LossTable(4).load_state_dict(t.state_dict())
