"""gather.stats: means, sample stds, Student-t quantiles and paired Δ, checked against hand
computations written out in the comments."""

import math

import pytest

from gather.stats import (
    Delta,
    Summary,
    delta,
    mean,
    paired_differences,
    sample_std,
    summarize,
    t_quantile,
    t_two_sided_prob,
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
