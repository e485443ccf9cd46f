"""gather.stats: means, sample stds, Student-t quantiles and paired Δ, checked against hand
computations written out in the comments."""

import math

import pytest

from gather.stats import (
    FINETUNING_SEEDS,
    PRETRAINING_RUNS,
    Delta,
    Summary,
    delta,
    mean,
    method_delta,
    paired_differences,
    pooled_components,
    sample_std,
    summarize,
    t_quantile,
    t_two_sided_prob,
    variance_components,
)


def test_mean_and_sample_std_use_ddof_1():
    # [1, 2, 3, 4]: mean 2.5; squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / 3 -> 1.2910
    assert mean([1, 2, 3, 4]) == 2.5
    assert sample_std([1, 2, 3, 4]) == pytest.approx(math.sqrt(5 / 3), abs=1e-15)
    assert sample_std([7.0]) is None
    assert summarize([7.0]) == Summary(1, 7.0, None)
    assert summarize([]) is None


# t_{0.975, df} from printed tables (and scipy.stats.t.ppf)
@pytest.mark.parametrize("df, expected", [(1, 12.706204736), (2, 4.302652730), (3, 3.182446305),
                                          (4, 2.776445105), (10, 2.228138852),
                                          (30, 2.042272456)])
def test_t_quantile_975(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-8)


def test_t_cdf_and_quantile_agree_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in range(1, 25):
        for q in (0.9, 0.95, 0.975, 0.995):
            assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-10)
        for x in (0.05, 0.7, 2.0, 9.0):
            assert t_two_sided_prob(x, df) == pytest.approx(2 * stats.t.cdf(x, df) - 1, abs=1e-13)
    assert t_two_sided_prob(0.0, 3) == 0.0
    with pytest.raises(ValueError):
        t_quantile(0.975, 0)


def test_paired_delta_by_hand():
    # diffs [0.2, 0.4, 0.9]: mean 0.5; deviations -0.3, -0.1, 0.4 -> (0.09 + 0.01 + 0.16) / 2
    # = 0.13, std 0.360555; t(0.975, 2) = 4.302653; half-width 4.302653 * 0.360555 / sqrt(3)
    # = 0.895669 -> [-0.395669, 1.395669]
    d = delta({0: 10.0, 1: 20.0, 2: 30.0}, {0: 10.2, 1: 20.4, 2: 30.9})
    assert d.paired and d.n == 3
    assert d.mean == pytest.approx(0.5, abs=1e-12)
    assert d.std == pytest.approx(0.360555128, abs=1e-9)
    assert d.high - d.mean == pytest.approx(0.895669, abs=1e-6)
    assert (d.low, d.high) == pytest.approx((-0.395669, 1.395669), abs=1e-6)


def test_seed_in_one_arm_only_is_not_paired():
    # common seeds 1, 2: diffs 0.5, 0.1 -> mean 0.3, std sqrt(0.02 + 0.02) = 0.282843;
    # t(0.975, 1) = 12.706205, half-width 12.706205 * 0.282843 / sqrt(2) = 2.541241.
    # Seed 0 (baseline only) and seed 3 (arm only, value 99) must not move anything.
    d = delta({0: 10.0, 1: 11.0, 2: 12.0}, {1: 11.5, 2: 12.1, 3: 99.0})
    assert paired_differences({0: 10.0, 1: 11.0, 2: 12.0}, {1: 11.5, 2: 12.1, 3: 99.0}) \
        == pytest.approx({1: 0.5, 2: 0.1})
    assert d.n == 2 and d.mean == pytest.approx(0.3)
    assert d.std == pytest.approx(0.2828427, abs=1e-7)
    assert (d.low, d.high) == pytest.approx((0.3 - 2.541241, 0.3 + 2.541241), abs=1e-6)


def test_one_pair_gives_just_the_difference_and_missing_values_do_not_pair():
    # seed 0 is null in the baseline, so only seed 1 pairs: 2 - 1 = 1
    assert delta({0: None, 1: 1.0}, {0: 5.0, 1: 2.0}) == Delta(1, 1.0, None, None, None, True)


def test_no_common_seed_falls_back_to_difference_of_means():
    # means 4 and (1 + 3) / 2 = 2 -> +2, flagged as not paired
    assert delta({0: 1.0, 1: 3.0}, {5: 4.0}) == Delta(0, 2.0, None, None, None, paired=False)


def test_empty_side_is_missing():
    assert delta({}, {0: 1.0}) is None
    assert delta({0: 1.0}, {0: None}) is None


# --- nested designs: {(pretraining seed, fine-tuning seed): value} ------------------------------
IID = {(0, 0): 10.0, (0, 1): 12.0, (1, 0): 20.0, (1, 1): 22.0, (2, 0): 30.0, (2, 1): 30.0}


def test_method_delta_pairs_backbone_means_by_pretraining_seed():
    # backbone means: iid 11, 21, 30; dar 12, 22, 32 -> pair differences 1, 1, 2: mean 4/3,
    # std sqrt(((1/3)^2 * 2 + (2/3)^2) / 2) = sqrt(1/3); half-width t(0.975, 2) * sqrt(1/3) / sqrt(3)
    # = 4.302653 / 3 = 1.434218 -> [-0.100884, 2.767551]
    dar = {(0, 0): 12.0, (0, 1): 12.0, (1, 0): 21.0, (1, 1): 23.0, (2, 0): 31.0, (2, 1): 33.0}
    d = method_delta(IID, dar)
    assert (d.unit, d.n, d.backbones, d.conditional) == (PRETRAINING_RUNS, 3, 3, False)
    assert d.mean == pytest.approx(4 / 3, abs=1e-12) and d.std == pytest.approx(math.sqrt(1 / 3), abs=1e-12)
    assert (d.low, d.high) == pytest.approx((-0.100884, 2.767551), abs=1e-6)


def test_one_backbone_per_arm_gives_a_conditional_fine_tuning_interval():
    # one common pretraining seed (0): runs paired by fine-tuning seed, differences 2 and 0
    d = method_delta({(0, 0): 10.0, (0, 1): 12.0}, {(0, 0): 12.0, (0, 1): 12.0, (5, 0): 99.0})
    assert (d.unit, d.n, d.backbones, d.conditional) == (FINETUNING_SEEDS, 2, 1, True)
    assert d.mean == 1.0 and d.std == pytest.approx(math.sqrt(2))


def test_random_init_is_compared_over_fine_tuning_seeds_against_the_backbones_mean():
    # per fine-tuning seed the pretrained arm's mean over its backbones: seed 0 (10+20+30)/3 = 20,
    # seed 1 (12+22+30)/3 = 64/3; random init 5 and 6 -> differences 15 and 46/3 - 0 = 15.333
    d = method_delta({(None, 0): 5.0, (None, 1): 6.0}, IID)
    assert (d.unit, d.n, d.backbones, d.conditional) == (FINETUNING_SEEDS, 2, 0, False)
    assert d.mean == pytest.approx((15 + 64 / 3 - 6) / 2)


def test_variance_components_by_hand():
    # group means 11, 21, 30, grand 124/6; SSB = 2 * sum (mean - grand)^2 = 361.333, df 2 -> MSB
    # 180.667; SSW = 1 + 1 + 1 + 1 + 0 + 0 = 4, df 3 -> MSW 1.333; n0 = 2 ->
    # sigma_pretrain^2 = (180.667 - 1.333) / 2 = 89.667, sigma_finetune^2 = 4/3
    c = variance_components(IID)
    assert (c.backbones, c.runs, c.df_pretrain, c.df_finetune, c.n0) == (3, 6, 2, 3, 2.0)
    assert c.var_pretrain_raw == pytest.approx(89.6666667, abs=1e-6)
    assert c.sigma_pretrain == pytest.approx(math.sqrt(89.6666667), abs=1e-6)
    assert c.sigma_finetune == pytest.approx(math.sqrt(4 / 3), abs=1e-12)


def test_a_negative_pretraining_component_is_floored_and_its_raw_value_kept():
    # means 5 and 5: MSB 0; SSW 25 + 25 + 0 + 0 = 50, df 2 -> MSW 25; raw (0 - 25) / 2 = -12.5
    c = variance_components({(0, 0): 0.0, (0, 1): 10.0, (1, 0): 5.0, (1, 1): 5.0})
    assert c.sigma_pretrain == 0.0 and c.var_pretrain_raw == pytest.approx(-12.5)
    assert c.sigma_finetune == pytest.approx(5.0)


def test_unmeasurable_components_are_none_with_zero_degrees_of_freedom():
    one_backbone = variance_components({(0, 0): 1.0, (0, 1): 3.0})
    assert one_backbone.sigma_pretrain is None and one_backbone.df_pretrain == 0
    assert one_backbone.sigma_finetune == pytest.approx(math.sqrt(2))
    one_seed_each = variance_components({(0, 0): 1.0, (1, 0): 3.0})
    assert one_seed_each.sigma_finetune is None and one_seed_each.sigma_pretrain is None
    assert variance_components({(0, 0): None}) is None


def test_pooled_components_add_sums_of_squares_and_degrees_of_freedom():
    # IID as computed above (SSB 361.333, df 2; SSW 4, df 3) and a second arm whose means 1 and 3
    # give SSB 2 * (1 + 1) = 4, df 1, SSW 2 + 2 = 4, df 2: pooled MSB 365.333 / 3, MSW 8 / 5, n0 2
    other = {(0, 0): 0.0, (0, 1): 2.0, (1, 0): 2.0, (1, 1): 4.0}
    pooled = pooled_components([variance_components(IID), variance_components(other), None])
    assert (pooled.df_pretrain, pooled.df_finetune, pooled.backbones, pooled.runs) == (3, 5, 5, 10)
    assert pooled.sigma_finetune == pytest.approx(math.sqrt(8 / 5))
    assert pooled.var_pretrain_raw == pytest.approx((365.3333333 / 3 - 8 / 5) / 2, abs=1e-6)
