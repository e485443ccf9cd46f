"""Seed statistics for the tables: mean ± sample std per arm, paired Δ with a Student-t interval.

Pure arithmetic on plain floats (no NumPy, no SciPy) so that every number a table prints can be
recomputed by hand in a unit test. The t quantile uses the closed form of Student's t CDF for
an integer number of degrees of freedom (Abramowitz & Stegun 26.7.3-4) and bisection; seeds are
counted, so the degrees of freedom (n - 1) are always integers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Mean and sample std (ddof=1; None for a single value) of one arm's values over seeds."""

    n: int
    mean: float
    std: float | None


@dataclass(frozen=True)
class Delta:
    """arm − baseline. `paired`: mean/std of per-seed differences over the seeds both ran;
    otherwise (no common seed) the difference of the two means, with no spread."""

    n: int  # paired seeds (0 when unpaired)
    mean: float
    std: float | None
    low: float | None  # 95% Student-t interval of the mean difference (n >= 2 only)
    high: float | None
    paired: bool


def mean(values: Iterable[float]) -> float:
    """Arithmetic mean of a non-empty sequence."""
    values = list(values)
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def sample_std(values: Iterable[float]) -> float | None:
    """Sample standard deviation (ddof=1); None for fewer than two values."""
    values = list(values)
    if len(values) < 2:
        return None
    m = mean(values)
    return math.sqrt(math.fsum((v - m) ** 2 for v in values) / (len(values) - 1))


def summarize(values: Iterable[float]) -> Summary | None:
    """Summary of the values, or None when there are none (a missing cell)."""
    values = list(values)
    if not values:
        return None
    return Summary(len(values), mean(values), sample_std(values))


def t_two_sided_prob(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with an integer `df` >= 1 (A&S 26.7.3 odd, 26.7.4 even)."""
    if df < 1 or int(df) != df:
        raise ValueError(f"degrees of freedom must be a positive integer, got {df}")
    if t <= 0:
        return 0.0
    theta = math.atan(t / math.sqrt(df))
    c2 = math.cos(theta) ** 2
    if df % 2 == 1:
        # (2/pi) [theta + sin(theta) cos(theta) (1 + 2/3 c2 + 2*4/(3*5) c2^2 + ...)], df-1 terms/2
        term, series = 1.0, 1.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            series += term
        tail = math.sin(theta) * math.cos(theta) * series if df > 1 else 0.0
        return 2.0 / math.pi * (theta + tail)
    # sin(theta) [1 + 1/2 c2 + 1*3/(2*4) c2^2 + ...], df/2 terms
    term, series = 1.0, 1.0
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        series += term
    return math.sin(theta) * series


def t_quantile(q: float, df: int) -> float:
    """The q-quantile of Student's t with integer `df`, for 0.5 <= q < 1 (e.g. 0.975)."""
    if not 0.5 <= q < 1.0:
        raise ValueError(f"q must be in [0.5, 1), got {q}")
    target = 2.0 * q - 1.0  # P(|T| < t) for the upper q-quantile t
    lo, hi = 0.0, 1.0
    while t_two_sided_prob(hi, df) < target:
        hi *= 2.0
    for _ in range(200):  # bisection to float resolution
        mid = 0.5 * (lo + hi)
        if t_two_sided_prob(mid, df) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return 0.5 * (lo + hi)


def paired_differences(baseline: Mapping, arm: Mapping) -> dict:
    """{seed: arm − baseline} over the seeds with a value (not None) in both arms."""
    return {seed: arm[seed] - baseline[seed] for seed in arm
            if seed in baseline and arm[seed] is not None and baseline[seed] is not None}


def delta(baseline: Mapping, arm: Mapping, confidence: float = 0.95) -> Delta | None:
    """Δ = arm − baseline from {seed: value or None} of each; None when either side is empty.

    Paired over common seeds: mean ± sample std of the differences, and the Student-t interval
    mean ± t_{(1+confidence)/2, n-1} · std / sqrt(n) for n >= 2. With no common seed, the
    difference of the means (paired=False), so the table can flag it.
    """
    diffs = list(paired_differences(baseline, arm).values())
    if diffs:
        n, m, s = len(diffs), mean(diffs), sample_std(diffs)
        if s is None:
            return Delta(n, m, None, None, None, paired=True)
        half = t_quantile(0.5 + confidence / 2.0, n - 1) * s / math.sqrt(n)
        return Delta(n, m, s, m - half, m + half, paired=True)
    base = [v for v in baseline.values() if v is not None]
    other = [v for v in arm.values() if v is not None]
    if not base or not other:
        return None
    return Delta(0, mean(other) - mean(base), None, None, None, paired=False)
