"""Seed statistics for the tables: mean ± sample std per arm, paired Δ with a Student-t interval,
and the variance components of a nested design.

A transfer experiment is nested: an arm (a pretraining method) is pretrained k times (pretraining
seeds: init and data order), and every backbone is fine-tuned m times (fine-tuning seeds). A Δ
between two pretraining methods is a claim about the methods only over pretraining runs:
`method_delta` averages each backbone over its fine-tuning seeds, pairs pretraining seed s of one
arm with seed s of the other and puts the Student-t interval over those k pairs. With a single
common pretraining seed it falls back to an interval over the fine-tuning seeds of those two
backbones and says so (`unit`): that interval is conditional on two particular backbones and
misses the pretraining run's own variance (tests/gather/test_calibration.py measures how much).
`variance_components` splits an arm's spread into σ_pretrain (between backbones) and σ_finetune
(between fine-tuning seeds of one backbone): one-way random effects, ANOVA estimators.

Pure arithmetic on plain floats (no NumPy, no SciPy) so that every number a table prints can be
recomputed by hand in a unit test. The t quantile uses the closed form of Student's t CDF for
an integer number of degrees of freedom (Abramowitz & Stegun 26.7.3-4) and bisection; seeds are
counted, so the degrees of freedom (n - 1) are always integers.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PRETRAINING_RUNS = "pretraining runs"  # Delta.unit: pairs of backbones, a claim about the methods
FINETUNING_SEEDS = "fine-tuning seeds"  # Delta.unit: pairs of fine-tuning runs


@dataclass(frozen=True)
class Summary:
    """Mean and sample std (ddof=1; None for a single value) of one arm's values over seeds."""

    n: int
    mean: float
    std: float | None


@dataclass(frozen=True)
class Delta:
    """arm − baseline. `paired`: mean/std of per-seed differences over the seeds both ran;
    otherwise (no common seed) the difference of the two means, with no spread. `unit`: what
    the n pairs (and so the interval) are over, PRETRAINING_RUNS or FINETUNING_SEEDS;
    `backbones`: backbones per arm behind a FINETUNING_SEEDS Δ of two pretrained arms (1: the
    Δ is conditional on those two backbones), 0 where a side has no pretraining run."""

    n: int  # paired units (0 when unpaired)
    mean: float
    std: float | None
    low: float | None  # 95% Student-t interval of the mean difference (n >= 2 only)
    high: float | None
    paired: bool
    unit: str = FINETUNING_SEEDS
    backbones: int = 0

    @property
    def conditional(self) -> bool:
        """A Δ of two pretrained arms over fine-tuning seeds of one backbone each: it says
        nothing about the methods."""
        return self.unit == FINETUNING_SEEDS and self.backbones == 1


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


@functools.lru_cache(maxsize=256)  # pure; an experiment asks for the same few (q, df) many times
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


def delta(baseline: Mapping, arm: Mapping, confidence: float = 0.95, unit: str = FINETUNING_SEEDS,
          backbones: int = 0) -> Delta | None:
    """Δ = arm − baseline from {seed: value or None} of each; None when either side is empty.

    Paired over common seeds: mean ± sample std of the differences, and the Student-t interval
    mean ± t_{(1+confidence)/2, n-1} · std / sqrt(n) for n >= 2. With no common seed, the
    difference of the means (paired=False), so the table can flag it.
    """
    diffs = list(paired_differences(baseline, arm).values())
    if diffs:
        n, m, s = len(diffs), mean(diffs), sample_std(diffs)
        if s is None:
            return Delta(n, m, None, None, None, True, unit, backbones)
        half = t_quantile(0.5 + confidence / 2.0, n - 1) * s / math.sqrt(n)
        return Delta(n, m, s, m - half, m + half, True, unit, backbones)
    base = [v for v in baseline.values() if v is not None]
    other = [v for v in arm.values() if v is not None]
    if not base or not other:
        return None
    return Delta(0, mean(other) - mean(base), None, None, None, False, unit, backbones)


# --- nested designs: {(pretraining seed, fine-tuning seed): value} ------------------------------
# A run's key is (pretraining seed, fine-tuning seed). The pretraining seed is None for an arm
# without pretraining runs of its own (random init, a downloaded checkpoint); the fine-tuning
# seed is None for a pretraining run measured by itself (the pretraining tables).
Runs = Mapping[tuple, float | None]


def backbone_means(runs: Runs) -> dict:
    """{pretraining seed: mean over that backbone's fine-tuning seeds} (missing values skipped)."""
    by_backbone = defaultdict(list)
    for (pretrain_seed, _), value in runs.items():
        if value is not None:
            by_backbone[pretrain_seed].append(value)
    return {p: mean(values) for p, values in by_backbone.items()}


def finetune_means(runs: Runs) -> dict:
    """{fine-tuning seed: mean over the arm's backbones fine-tuned with it}."""
    by_seed = defaultdict(list)
    for (_, seed), value in runs.items():
        if value is not None:
            by_seed[seed].append(value)
    return {s: mean(values) for s, values in by_seed.items()}


def replicated(runs: Runs) -> bool:
    """Whether the arm has pretraining runs of its own (every key has a pretraining seed)."""
    return bool(runs) and all(pretrain_seed is not None for pretrain_seed, _ in runs)


def method_delta(baseline: Runs, arm: Runs, confidence: float = 0.95) -> Delta | None:
    """arm − baseline of a nested design, with the interval over the unit the data allow.

    Both arms pretrained, >= 2 pretraining seeds in common: per pretraining seed, each
    backbone's mean over its fine-tuning seeds, paired across the arms; the Student-t interval
    is over those pairs (unit PRETRAINING_RUNS, a claim about the methods). One pretraining
    seed in common: the two backbones' runs paired by fine-tuning seed (unit FINETUNING_SEEDS,
    backbones=1, conditional on those two backbones). An arm without pretraining runs (random
    init): per fine-tuning seed, the other arm's mean over its backbones, paired by fine-tuning
    seed (unit FINETUNING_SEEDS, backbones=0). None when either side has no value.
    """
    if replicated(baseline) and replicated(arm):
        base_means, arm_means = backbone_means(baseline), backbone_means(arm)
        common = sorted(set(base_means) & set(arm_means))
        if len(common) >= 2:
            return delta({p: base_means[p] for p in common}, {p: arm_means[p] for p in common}, confidence,
                         unit=PRETRAINING_RUNS, backbones=len(common))
        if len(common) == 1:
            p = common[0]
            return delta({s: v for (q, s), v in baseline.items() if q == p},
                         {s: v for (q, s), v in arm.items() if q == p}, confidence, backbones=1)
        return delta(base_means, arm_means, confidence, unit=PRETRAINING_RUNS)  # nothing paired
    return delta(finetune_means(baseline), finetune_means(arm), confidence)


@dataclass(frozen=True)
class VarianceComponents:
    """One arm's spread split by its source (one-way random effects, ANOVA estimators).

    σ_finetune² = MSW, the mean square within backbones (df N − k); σ_pretrain² = (MSB − MSW)/n0
    with MSB the mean square between backbones (df k − 1) and n0 = (N − Σ n_i²/N)/(k − 1) (the
    fine-tuning seeds per backbone when balanced). The raw σ_pretrain² can come out negative
    (MSB < MSW by chance): `var_pretrain_raw` keeps it, `sigma_pretrain` is floored at 0.
    None where its degrees of freedom are 0 (one backbone; one fine-tuning seed per backbone,
    where between-backbone spread and fine-tuning noise cannot be told apart).
    """

    backbones: int  # k
    runs: int  # N
    mean: float
    sigma_pretrain: float | None
    var_pretrain_raw: float | None
    df_pretrain: int
    sigma_finetune: float | None
    df_finetune: int
    ss_between: float  # Σ n_i (ȳ_i − ȳ)²: what pooling over arms adds up
    ss_within: float  # Σ (y_ij − ȳ_i)²
    n0: float

    def as_dict(self) -> dict:
        return {"backbones": self.backbones, "runs": self.runs, "mean": self.mean,
                "finetune_seeds_per_backbone": self.runs / self.backbones if self.backbones else None,
                "sigma_pretrain": self.sigma_pretrain, "var_pretrain_raw": self.var_pretrain_raw,
                "df_pretrain": self.df_pretrain, "sigma_finetune": self.sigma_finetune,
                "df_finetune": self.df_finetune}


def _components(k: int, n: int, grand: float, ss_between: float, ss_within: float, n0: float,
                df_between: int) -> VarianceComponents:
    """The estimates from the sums of squares (df_between: k − 1 for one arm, Σ (k_a − 1) pooled)."""
    df_within = n - k
    msw = ss_within / df_within if df_within > 0 else None
    raw = (ss_between / df_between - msw) / n0 if df_between > 0 and msw is not None and n0 > 0 else None
    return VarianceComponents(
        backbones=k, runs=n, mean=grand,
        sigma_pretrain=math.sqrt(max(raw, 0.0)) if raw is not None else None, var_pretrain_raw=raw,
        df_pretrain=df_between, sigma_finetune=math.sqrt(msw) if msw is not None else None,
        df_finetune=df_within, ss_between=ss_between, ss_within=ss_within, n0=n0)


def variance_components(runs: Runs) -> VarianceComponents | None:
    """σ_pretrain and σ_finetune of one arm's {(pretraining seed, fine-tuning seed): value};
    None without values."""
    groups = defaultdict(list)
    for (pretrain_seed, _), value in runs.items():
        if value is not None:
            groups[pretrain_seed].append(value)
    if not groups:
        return None
    values = [v for g in groups.values() for v in g]
    k, n, grand = len(groups), len(values), mean(values)
    ss_between = math.fsum(len(g) * (mean(g) - grand) ** 2 for g in groups.values())
    ss_within = math.fsum((v - mean(g)) ** 2 for g in groups.values() for v in g)
    n0 = (n - math.fsum(len(g) ** 2 for g in groups.values()) / n) / (k - 1) if k > 1 else 0.0
    return _components(k, n, grand, ss_between, ss_within, n0, k - 1)


def pooled_components(arms: Iterable[VarianceComponents | None]) -> VarianceComponents | None:
    """Components pooled over arms (each arm's own mean removed): sums of squares and degrees
    of freedom add up, n0 is the df-weighted mean of the arms'. None without any arm."""
    arms = [a for a in arms if a is not None]
    if not arms:
        return None
    df_between = sum(a.df_pretrain for a in arms)
    n0 = math.fsum(a.n0 * a.df_pretrain for a in arms) / df_between if df_between else 0.0
    n = sum(a.runs for a in arms)
    return _components(sum(a.backbones for a in arms), n, math.fsum(a.mean * a.runs for a in arms) / n,
                       math.fsum(a.ss_between for a in arms), math.fsum(a.ss_within for a in arms), n0, df_between)
