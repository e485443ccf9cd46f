"""How many pretraining runs (k) and fine-tuning seeds per backbone (m) a claim about two
pretraining methods needs: power of the paired t test over pretraining runs, and the cheapest
(k, m) that reaches it.

The design is the one gather.stats.method_delta analyses: each arm pretrained k times, every
backbone fine-tuned m times; pair i is (method A's backbone of pretraining seed i, method B's),
each side averaged over its m fine-tuning runs. Under the nested model
    y = μ_arm + b (σ_pretrain, one per backbone) + e (σ_finetune, one per fine-tuning run)
a pair's difference has variance 2σ_pretrain² + 2σ_finetune²/m (independent sides: shared
fine-tuning seeds could make the two sides correlated and the difference less noisy; assuming
no correlation errs on the side of more runs). Its mean over k pairs, divided by its estimated
standard error, is Student-t with k − 1 degrees of freedom, noncentral with
δ = effect / sqrt(var_pair / k) under a true effect; the two-sided test at level α rejects
with probability P(|T'| > t_{1−α/2, k−1}) (scipy.stats.nct). tests/gather/test_planner.py
checks that number against a simulation of the nested model.

Cost of a design: both arms, each k pretraining runs and k·m fine-tuning runs,
2k(C_pretrain + m·C_finetune), in the unit the costs are given in (seconds, GPU-hours, ...).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats as scipy_stats

MAX_PRETRAIN_RUNS = 200  # k searched up to this: a plan that needs more is reported as out of reach
MAX_FINETUNE_SEEDS = 20


@dataclass(frozen=True)
class Design:
    """k pretraining runs per arm × m fine-tuning seeds per backbone, its power and cost."""

    pretrain_runs: int  # k
    finetune_seeds: int  # m
    power: float
    cost: float  # 2k(C_pretrain + m C_finetune)
    effect: float
    sigma_pretrain: float
    sigma_finetune: float
    alpha: float

    def as_dict(self) -> dict:
        return asdict(self)


def pair_sd(sigma_pretrain: float, sigma_finetune: float, finetune_seeds: int) -> float:
    """Standard deviation of one pair's difference of backbone means."""
    return math.sqrt(2 * sigma_pretrain ** 2 + 2 * sigma_finetune ** 2 / finetune_seeds)


def power(effect: float, sigma_pretrain: float, sigma_finetune: float, pretrain_runs: int, finetune_seeds: int,
          alpha: float = 0.05) -> float:
    """Power of the two-sided paired t test over k = pretrain_runs pairs (0 for k < 2: no test)."""
    _check_spreads(sigma_pretrain, sigma_finetune)
    if pretrain_runs < 2:
        return 0.0
    df = pretrain_runs - 1
    noncentrality = abs(effect) / (pair_sd(sigma_pretrain, sigma_finetune, finetune_seeds) / math.sqrt(pretrain_runs))
    critical = float(scipy_stats.t.ppf(1 - alpha / 2, df))
    with np.errstate(all="ignore"):  # far tails: boost's nct may return nan where the answer is 0 or 1
        upper = float(scipy_stats.nct.sf(critical, df, noncentrality))
        lower = float(scipy_stats.nct.cdf(-critical, df, noncentrality))
    if math.isnan(upper):
        upper = 1.0 if noncentrality > critical else 0.0
    return upper + (0.0 if math.isnan(lower) else lower)


def design_cost(pretrain_runs: int, finetune_seeds: int, cost_pretrain: float, cost_finetune: float) -> float:
    """Both arms' pretraining and fine-tuning runs."""
    return 2 * pretrain_runs * (cost_pretrain + finetune_seeds * cost_finetune)


def cheapest_design(effect: float, sigma_pretrain: float, sigma_finetune: float, cost_pretrain: float,
                    cost_finetune: float, target_power: float = 0.8, alpha: float = 0.05) -> Design | None:
    """The (k, m) of least cost whose power reaches `target_power`; ties go to fewer runs in all.
    None when no k <= MAX_PRETRAIN_RUNS and m <= MAX_FINETUNE_SEEDS reaches it."""
    if effect == 0:
        raise ValueError("the effect to detect must be non-zero")
    if cost_pretrain < 0 or cost_finetune < 0:
        raise ValueError(f"costs must be >= 0, got pretrain {cost_pretrain}, finetune {cost_finetune}")
    best = None
    for m in range(1, MAX_FINETUNE_SEEDS + 1):
        k = _least_runs(effect, sigma_pretrain, sigma_finetune, m, target_power, alpha)
        if k is None:
            continue
        candidate = Design(k, m, power(effect, sigma_pretrain, sigma_finetune, k, m, alpha),
                           design_cost(k, m, cost_pretrain, cost_finetune), effect, sigma_pretrain, sigma_finetune,
                           alpha)
        if best is None or (candidate.cost, k * (1 + m)) < (best.cost, best.pretrain_runs * (1 + best.finetune_seeds)):
            best = candidate
    return best


def _least_runs(effect, sigma_pretrain, sigma_finetune, m, target_power, alpha) -> int | None:
    """The least k reaching the power at m fine-tuning seeds (power grows with k: bisection)."""
    if power(effect, sigma_pretrain, sigma_finetune, MAX_PRETRAIN_RUNS, m, alpha) < target_power:
        return None
    lo, hi = 1, MAX_PRETRAIN_RUNS  # power(lo) < target <= power(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if power(effect, sigma_pretrain, sigma_finetune, mid, m, alpha) >= target_power:
            hi = mid
        else:
            lo = mid
    return hi


def minimum_detectable_effect(sigma_pretrain: float, sigma_finetune: float, pretrain_runs: int,
                              finetune_seeds: int, target_power: float = 0.8, alpha: float = 0.05) -> float | None:
    """The smallest effect the design detects with `target_power`; None for k < 2 (no test
    over pretraining runs at all)."""
    _check_spreads(sigma_pretrain, sigma_finetune)
    if pretrain_runs < 2:
        return None
    scale = pair_sd(sigma_pretrain, sigma_finetune, finetune_seeds)
    lo, hi = 0.0, scale
    while power(hi, sigma_pretrain, sigma_finetune, pretrain_runs, finetune_seeds, alpha) < target_power:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        if power(mid, sigma_pretrain, sigma_finetune, pretrain_runs, finetune_seeds, alpha) < target_power:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9 * scale:
            break
    return hi


def _check_spreads(sigma_pretrain: float, sigma_finetune: float) -> None:
    finite = math.isfinite(sigma_pretrain) and math.isfinite(sigma_finetune)
    if sigma_pretrain < 0 or sigma_finetune < 0 or not finite:
        raise ValueError(f"spreads must be finite and >= 0, got σ_pretrain {sigma_pretrain}, "
                         f"σ_finetune {sigma_finetune}")
    if sigma_pretrain == 0 and sigma_finetune == 0:
        raise ValueError("σ_pretrain and σ_finetune are both 0: there is no noise to plan against")
