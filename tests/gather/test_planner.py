"""gather.planner: the power of the paired t test over pretraining runs against a simulation of
the nested model, the cheapest design and the minimum detectable effect."""

import math

import numpy as np
import pytest
from scipy import stats

from gather.planner import cheapest_design, design_cost, minimum_detectable_effect, pair_sd, power


def simulated_power(effect, sigma_pretrain, sigma_finetune, k, m, alpha=0.05, experiments=20000, seed=0):
    """Reject rate of the two-sided paired t test over k pairs of backbone means (each backbone
    averaged over m fine-tuning runs) when the arms truly differ by `effect`."""
    rng = np.random.default_rng(seed)

    def arm_means(shift):
        backbones = rng.normal(shift, sigma_pretrain, (experiments, k))
        return backbones + rng.normal(0.0, sigma_finetune, (experiments, k, m)).mean(axis=2)

    diffs = arm_means(effect) - arm_means(0.0)
    t = diffs.mean(axis=1) / (diffs.std(axis=1, ddof=1) / math.sqrt(k))
    return float(np.mean(np.abs(t) > stats.t.ppf(1 - alpha / 2, k - 1)))


@pytest.mark.parametrize("effect, sigma_pretrain, sigma_finetune, k, m", [
    (2.0, 1.0, 1.0, 4, 2),
    (1.0, 0.5, 1.5, 6, 3),
    (1.0, 1.0, 0.5, 10, 1),
])
def test_power_matches_a_simulation_of_the_nested_model(effect, sigma_pretrain, sigma_finetune, k, m):
    predicted = power(effect, sigma_pretrain, sigma_finetune, k, m)
    assert 0.2 < predicted < 0.95  # settings where the check has something to check
    assert abs(predicted - simulated_power(effect, sigma_pretrain, sigma_finetune, k, m)) <= 0.02


def test_pair_variance_and_no_test_below_two_pretraining_runs():
    assert pair_sd(1.0, 2.0, 4) == pytest.approx(math.sqrt(2 + 2 * 4 / 4))
    assert power(5.0, 1.0, 1.0, 1, 10) == 0.0
    assert minimum_detectable_effect(1.0, 1.0, 1, 10) is None
    with pytest.raises(ValueError, match="both 0"):
        power(1.0, 0.0, 0.0, 3, 1)


def test_the_cheapest_design_reaches_the_power_and_nothing_cheaper_does():
    design = cheapest_design(0.3, 0.15, 0.15, 320, 80)
    assert design.power >= 0.8
    assert design.cost == design_cost(design.pretrain_runs, design.finetune_seeds, 320, 80)
    for k in range(2, 60):
        for m in range(1, 21):
            if design_cost(k, m, 320, 80) < design.cost:
                assert power(0.3, 0.15, 0.15, k, m) < 0.8, (k, m)


def test_fine_tuning_seeds_pay_when_fine_tuning_is_noisy_and_cheap():
    # σ_finetune >> σ_pretrain and fine-tuning cheap: more seeds per backbone beat more backbones
    assert cheapest_design(1.0, 0.1, 2.0, 100, 1).finetune_seeds > 1
    # pretraining noise dominates: extra fine-tuning seeds buy nothing
    assert cheapest_design(1.0, 1.0, 0.05, 100, 1).finetune_seeds == 1


def test_the_minimum_detectable_effect_inverts_the_power():
    mde = minimum_detectable_effect(0.5, 0.7, 5, 3)
    assert power(mde, 0.5, 0.7, 5, 3) == pytest.approx(0.8, abs=1e-6)
    assert minimum_detectable_effect(0.5, 0.7, 10, 3) < mde
