"""The method interface: lookup by name, parameter checks, plans, the equal-cost controls, the
in-batch path and the compressed LR schedule. Pure and fast (no Runner)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain.linear_lr import linear_factor, planned_iterations
from pretrain.loss_table import LossTable
from pretrain.methods import available_methods, build_method, get_method
from pretrain.methods.base import EpochPlan, Method
from pretrain.methods.budget import Budget
from pretrain.methods.random_drop import RandomDrop
from pretrain.schedule import simulate
from pretrain.trainer import lr_schedulers
from pretrain.training_loss import TrainingLoss

REPO = Path(__file__).resolve().parents[2]
TINY_DAR = dict(name="dar", warmup=2, interval=1, keep=0.8, active=3, refresh=[5])


def test_every_shipped_method_is_found_by_its_name():
    assert {"iid", "dar", "dap", "reweight", "random_drop", "budget"} <= set(available_methods())
    for name in available_methods():
        assert get_method(name).name == name


def test_unknown_method_and_parameter_are_named():
    with pytest.raises(ValueError, match="'drop_and_pray'.*known: .*dar"):
        get_method("drop_and_pray")
    with pytest.raises(KeyError, match="warmpu"):
        build_method(dict(name="dar", warmpu=3), None, 10)
    with pytest.raises(ValueError, match="arm.budget must be in"):
        build_method(dict(name="budget", budget=1.5), None, 10)
    with pytest.raises(ValueError, match="keep fraction"):
        build_method(dict(TINY_DAR, keep=0.0), None, 10)


def test_random_drop_plans_exactly_dar_s_fractions_and_cost():
    dar = build_method(TINY_DAR, None, 10).plan()
    random_drop = build_method(dict(TINY_DAR, name="random_drop"), None, 10).plan()
    assert random_drop.fractions == dar.fractions
    assert random_drop.cost == dar.cost == pytest.approx(0.816)
    assert build_method(TINY_DAR, 2400, 10).plan().sizes == build_method(
        dict(TINY_DAR, name="random_drop"), 2400, 10).plan().sizes


def run_drops(method: Method, losses: torch.Tensor, epochs: int) -> list[np.ndarray]:
    """Drive a method through `epochs` epochs whose per-sample losses are always `losses`."""
    table, subsets = LossTable(len(losses)), []
    plan = method.start()
    for epoch in range(1, epochs + 1):
        table.record(torch.as_tensor(plan.indices), losses[plan.indices])
        table.close_epoch()
        plan = method.end_epoch(epoch, table) or plan
        subsets.append(np.sort(plan.indices))
    return subsets


def test_dar_keeps_the_hardest_and_random_drop_a_random_part_of_the_same_size():
    losses = torch.linspace(0, 1, 50, dtype=torch.float64)  # sample i is the i-th easiest
    dar = run_drops(build_method(TINY_DAR, 50, 10, seed=0), losses, 4)
    rnd = run_drops(build_method(dict(TINY_DAR, name="random_drop"), 50, 10, seed=0), losses, 4)
    assert [s.size for s in dar] == [s.size for s in rnd] == [50, 50, 40, 32]
    assert list(dar[2]) == list(range(10, 50))  # the 40 hardest
    assert list(rnd[2]) != list(range(10, 50)) and set(rnd[3]) <= set(rnd[2])
    again = run_drops(build_method(dict(TINY_DAR, name="random_drop"), 50, 10, seed=0), losses, 4)
    assert all(np.array_equal(a, b) for a, b in zip(rnd, again, strict=True))  # own seeded stream


def test_budget_trains_a_fraction_of_the_epochs_and_costs_its_budget():
    method = build_method(dict(name="budget", budget=0.816), 2400, 10)
    assert method.train_epochs() == 9 and method.schedule_fraction == 0.816
    plan = method.plan()
    assert plan.sizes == [2400.0] * 8 + [384.0]  # 0.16 of the set in the last epoch
    assert plan.cost == pytest.approx(0.816)
    assert build_method(dict(name="budget", budget=0.816), None, 10).plan().cost == pytest.approx(0.816)
    last = method.end_epoch(8, LossTable(2400))
    assert last.indices.size == 384 and np.unique(last.indices).size == 384
    assert method.end_epoch(7, LossTable(2400)) is None  # full epochs go on unchanged


def test_controls_take_the_arm_s_schedule_and_cost():
    dar = build_method(TINY_DAR, None, 10)
    assert RandomDrop.control_for(TINY_DAR, dar) == dict(
        name="random_drop", warmup=2, interval=1, keep=0.8, active=3, refresh=[5], accumulate="last")
    assert Budget.control_for(TINY_DAR, dar) == {"name": "budget", "budget": 0.816}
    with pytest.raises(ValueError, match="drop-and-refresh arm"):
        RandomDrop.control_for({"name": "iid"}, build_method({"name": "iid"}, None, 10))


def test_epoch_plan_and_method_state_round_trip():
    method = build_method(TINY_DAR, 30, 10)
    run_drops(method, torch.rand(30, dtype=torch.float64), 4)
    clone = build_method(TINY_DAR, 30, 10)
    clone.load_state_dict(method.state_dict())
    assert np.array_equal(clone.subset, method.subset) and clone.state == method.state
    plan = EpochPlan(np.array([3, 3, 1]), shuffle=False, weights=torch.ones(5), normalize=False, event="x")
    back = EpochPlan.from_state_dict(plan.state_dict())
    assert list(back.indices) == [3, 3, 1] and not back.shuffle and not back.normalize and back.event == "x"


class KeepHardestHalf(Method):
    """A test in-batch method: back-propagate the harder half of every batch."""

    name = "keep_hardest_half"
    in_batch = True

    def select_in_batch(self, indices, losses):
        return losses >= losses.median()


def test_in_batch_selection_forwards_everything_and_backpropagates_part():
    net = torch.nn.Linear(4, 3)
    loss = TrainingLoss(KeepHardestHalf(10, 1))
    inputs, labels, indices = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]), torch.arange(6)
    value = loss(net, inputs, labels, indices)
    record = loss.pop()
    with torch.no_grad():
        all_losses = torch.nn.functional.cross_entropy(net(inputs), labels, reduction="none")
    chosen = all_losses >= all_losses.median()
    assert record.forwards == 6 + int(chosen.sum()) and record.backwards == int(chosen.sum()) < 6
    assert torch.allclose(record.losses, all_losses)
    assert value.item() == pytest.approx(all_losses[chosen].sum().item() / 6, rel=1e-5)  # 1/B each
    value.backward()  # the selected samples carry the gradient
    assert net.weight.grad is not None


def test_a_weighted_plan_normalizes_or_rescales():
    net = torch.nn.Identity()  # the "inputs" are the logits
    train_loss = TrainingLoss()
    weights = torch.tensor([2.0, 0.0, 1.0])
    logits = torch.log(torch.softmax(torch.randn(3, 3), 1))
    labels = torch.tensor([0, 1, 2])
    per_sample = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    train_loss.use(EpochPlan(np.arange(3), weights=weights, normalize=True))
    assert train_loss(net, logits, labels, torch.arange(3)).item() == pytest.approx(
        ((weights * per_sample).sum() / weights.sum()).item())
    train_loss.use(EpochPlan(np.arange(3), weights=weights, normalize=False))
    assert train_loss(net, logits, labels, torch.arange(3)).item() == pytest.approx(
        (weights * per_sample).mean().item())


def test_lr_schedule_unchanged_at_full_budget_and_compressed_below():
    train = dict(epochs=10, lr=0.1, milestones=[7, 9], gamma=0.1, warmup_epochs=1)
    full = lr_schedulers(train, 1.0, 38)
    assert full == [dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=1, convert_to_iter_based=True),
                    dict(type="MultiStepLR", by_epoch=True, milestones=[7, 9], gamma=0.1)]
    short = lr_schedulers(train, 0.816, 38)
    assert short[0]["end"] == round(0.816 * 38) and not short[0]["by_epoch"]
    assert short[1]["milestones"] == [round(7 * 0.816 * 38), round(9 * 0.816 * 38)]
    assert lr_schedulers(dict(train, lr_schedule="linear"), 0.5, 38) == []  # pretrain.linear_lr sets it


def test_linear_factor_ends_at_zero_exactly_after_the_last_step():
    factors = [linear_factor(t, 10) for t in range(11)]
    assert factors[0] == 1.0 and factors[9] == pytest.approx(0.1) and factors[10] == 0.0
    assert linear_factor(0, 10, warmup=2) == pytest.approx(0.1) and linear_factor(2, 10, warmup=2) == 1.0


def test_planned_iterations_count_each_subset_epochs_partial_batch():
    # CIFAR at budget 0.3 (Arazo): 118 iterations per 15000-sample epoch, not 0.3 x 391 = 117.3
    unif = build_method({"name": "unif_sgd", "budget": 0.3}, 50000, 200)
    assert planned_iterations(unif, 1, 128) == [118] * 200
    budget = build_method({"name": "budget", "budget": 0.3}, 50000, 200)
    iterations = planned_iterations(budget, 1, 128)
    assert len(iterations) == 60 and iterations[-1] == 391
    assert planned_iterations(build_method({"name": "infobatch"}, 100, 4), 1, 16) is None
    # selective backprop forwards whole epochs (its budget counts backwards: 2 of the 4 epochs here)
    assert planned_iterations(build_method({"name": "selective_backprop", "budget": 0.5}, 100, 4), 1, 16) == [7] * 2


def test_iid_plan_is_the_full_set():
    plan = build_method({"name": "iid"}, 100, 4).plan()
    assert plan.sizes == [100.0] * 4 and plan.cost == 1.0
    assert simulate(None, 4, 100).sizes == plan.sizes


class LossDriven(Method):
    """A test method whose subsets depend on the losses it will see: no plan before the run."""

    name = "loss_driven"

    def plan(self):
        return None


@pytest.mark.e2e
def test_a_method_without_a_plan_says_its_cost_comes_after_the_run(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="only known after it"):
        Budget.control_for({"name": "loss_driven"}, LossDriven(None, 10))
    folder = tmp_path / "methods"
    folder.mkdir()
    (folder / "loss_driven.py").write_text(
        "from pretrain.methods.base import Method\n\n\n"
        "class LossDriven(Method):\n    name = 'loss_driven'\n\n    def plan(self):\n        return None\n")
    config = tmp_path / "cfg.py"
    config.write_text(f"_base_ = {str(REPO / 'configs/pretrain/resnet18_shapes_tiny_iid.py')!r}\n"
                      "arm = dict(name='loss_driven')\n")
    env = dict(os.environ, TRANSFER_SUITE_METHODS=str(folder))
    for extra in ([], ["--json"]):
        out = subprocess.run([sys.executable, str(REPO / "tools" / "schedule.py"), str(config), *extra],
                             capture_output=True, text=True, timeout=120, env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        assert "only known after the run" in out.stdout
    assert json.loads(out.stdout)["cost"] is None


# --- the literature's alternatives (InfoBatch, Arazo et al.'s samplers) ----------------------
def close_epoch(table: LossTable, indices: np.ndarray, losses: torch.Tensor) -> None:
    table.record(torch.as_tensor(indices), losses[indices])
    table.close_epoch()


def test_infobatch_prunes_half_the_well_learned_and_upweights_the_rest():
    losses = torch.linspace(0.1, 2.0, 40, dtype=torch.float64)  # the first 20 lie below the mean
    method = build_method({"name": "infobatch"}, 40, 10, seed=3)
    assert method.plan() is None
    plan, table = method.start(), LossTable(40)
    assert plan.indices.size == 40 and plan.weights is None  # no scores yet: nothing pruned
    close_epoch(table, plan.indices, losses)
    plan = method.end_epoch(1, table)
    below = np.flatnonzero(losses.numpy() < losses.numpy().mean())
    kept_below = np.intersect1d(plan.indices, below)
    assert kept_below.size == int(0.5 * below.size) and set(range(below.size, 40)) <= set(plan.indices)
    assert not plan.normalize and torch.all(plan.weights[kept_below] == 2.0)
    assert plan.weights.sum() == 40 + kept_below.size  # weight 2 for the kept below-mean samples
    for epoch in range(2, 10):  # epochs 1-8 prune (1-based epoch <= 0.875 x 10 = 8.75)
        close_epoch(table, plan.indices, losses)
        plan = method.end_epoch(epoch, table)
        assert plan.indices.size < 40 if epoch + 1 <= 8 else plan.indices.size == 40
        if epoch + 1 == 9:
            assert plan.weights is None and plan.event == "full set"  # epoch 9: the full set, weight 1


def full_set_epochs(epochs: int, delta: float) -> list[int]:
    """The 1-based epochs an InfoBatch run trains on the full set (every sample below the mean)."""
    losses = torch.linspace(0.1, 2.0, 40, dtype=torch.float64)
    method, table = build_method({"name": "infobatch", "delta": delta}, 40, epochs, seed=0), LossTable(40)
    plan, full = method.start(), []
    for epoch in range(1, epochs + 1):
        if epoch > 1 and plan.indices.size == 40:  # epoch 1 has no scores yet: full by necessity
            full.append(epoch)
        close_epoch(table, plan.indices, losses)
        plan = method.end_epoch(epoch, table)
    return full


@pytest.mark.parametrize("epochs,delta,expected", [
    (8, 0.875, [8]),  # the reference: stop_prune = 7.0, epoch 8 trains the full set
    (200, 0.875, list(range(176, 201))),  # stop_prune = 175.0: 25 full epochs, not 24
    (10, 0.5, [6, 7, 8, 9, 10]),
    (10, 1.0, []),
    (7, 0.3, [3, 4, 5, 6, 7]),  # stop_prune = 2.1
])
def test_infobatch_trains_the_full_set_at_the_reference_epochs(epochs, delta, expected):
    assert full_set_epochs(epochs, delta) == expected


def test_unif_sgd_draws_a_fresh_uniform_budget_every_epoch():
    method = build_method({"name": "unif_sgd", "budget": 0.3}, 100, 5)
    plan = method.plan()
    assert plan.sizes == [30.0] * 5 and plan.cost == pytest.approx(0.3) and method.schedule_fraction == 0.3
    first, second = method.start().indices, method.end_epoch(1, LossTable(100)).indices
    assert first.size == second.size == np.unique(first).size == 30 and not np.array_equal(first, second)


def test_p_sgd_and_c_sgd_score_by_the_running_miss_probability():
    losses = torch.tensor([0.01] * 50 + [0.7] * 25 + [5.0] * 25, dtype=torch.float64)
    picks = {}
    for name in ("p_sgd", "c_sgd"):
        method, table = build_method({"name": name, "budget": 0.2}, 100, 30, seed=0), LossTable(100)
        plan, counts = method.start(), np.zeros(100)
        for epoch in range(1, 30):
            close_epoch(table, plan.indices, losses)
            plan = method.end_epoch(epoch, table)
            counts[plan.indices] += 1
        seen = method.times_seen > 0
        assert np.allclose(method.mean_miss[seen], 1 - np.exp(-losses.numpy()[seen]))
        picks[name] = [counts[:50].mean(), counts[50:75].mean(), counts[75:].mean()]
    easy, middle, hard = picks["p_sgd"]
    assert easy < middle < hard  # drawn by 1 − p_true: the hardest most often
    easy, middle, hard = picks["c_sgd"]
    assert middle > hard and middle > easy  # drawn by s(1 − s): the confused (p_true ≈ 0.5) most often


def test_selective_backprop_primes_then_draws_by_loss_percentile():
    method = build_method({"name": "selective_backprop", "budget": 0.5}, 64, 4, seed=0)
    assert method.in_batch and method.plan() is None and method.train_epochs() == 2
    method.start()
    losses = torch.linspace(0, 1, 64)
    assert not method.scoring_now()  # epoch 1 trains on everything, unscored
    method.end_epoch(1, LossTable(64))
    assert method.scoring_now()
    chosen = torch.stack([method.select_in_batch(torch.arange(64), losses) for _ in range(20)]).float()
    rate = chosen.mean(0)
    assert rate[:16].mean() < 0.05 and rate[48:].mean() > 0.4  # P = percentile^3
    again = build_method({"name": "selective_backprop", "budget": 0.5}, 64, 4, seed=0)
    again.load_state_dict(method.state_dict())
    assert list(again.losses) == list(method.losses) and again.epoch == method.epoch == 2


def test_mixup_and_ricap_mix_around_each_sample():
    from pretrain.training_loss import mix_batch

    inputs = torch.arange(4, dtype=torch.float32).view(4, 1, 1, 1).expand(4, 3, 8, 8).contiguous()
    labels = torch.tensor([0, 1, 2, 3])
    mixed, targets = mix_batch("mixup", inputs, labels, np.random.default_rng(0), 0.3)
    lam = targets[0][1]
    assert torch.equal(targets[0][0], labels) and sum(w for _, w in targets) == pytest.approx(1.0)
    # every pixel of image i holds its sample's label: the mix is λ·i + (1 − λ)·perm(i)
    assert torch.allclose(mixed[:, 0, 0, 0], lam * labels.float() + (1 - lam) * targets[1][0].float())
    mixed, targets = mix_batch("ricap", inputs, labels, np.random.default_rng(1), 0.3)
    assert mixed.shape == inputs.shape and torch.equal(targets[0][0], labels)
    assert sum(w for _, w in targets) == pytest.approx(1.0)
    if targets[0][1] > 0:  # the top-left patch is each sample's own
        assert torch.equal(mixed[:, 0, 0, 0], labels.float())


def test_augment_settings_are_checked():
    from pretrain.config import augment_settings

    assert augment_settings({}) == {"randaugment": None, "mix": None, "mix_alpha": 0.3}
    assert augment_settings({"augment": {"mix": "ricap"}})["mix"] == "ricap"
    with pytest.raises(KeyError, match="mixx"):
        augment_settings({"augment": {"mixx": "ricap"}})
    with pytest.raises(ValueError, match="cutmix"):
        augment_settings({"augment": {"mix": "cutmix"}})
    with pytest.raises(KeyError, match="magnitdue"):
        augment_settings({"augment": {"randaugment": {"num_ops": 2, "magnitdue": 4}}})


@pytest.mark.e2e
def test_schedule_tool_prints_dar_s_plan_for_random_drop_and_the_budget_for_budget():
    def plan_of(preset):
        out = subprocess.run([sys.executable, str(REPO / "tools" / "schedule.py"),
                              str(REPO / "configs" / "pretrain" / f"resnet18_shapes_tiny_{preset}.py"), "--json"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout)

    assert plan_of("random_drop") == plan_of("dar")
    assert plan_of("budget")["cost"] == pytest.approx(0.816)
