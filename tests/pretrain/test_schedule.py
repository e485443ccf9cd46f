"""The DaR rule, exactly: events, kept fractions and costs of the paper's settings."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pretrain.schedule import (
    DROP,
    REFRESH,
    DaRParams,
    ScheduleState,
    end_of_epoch,
    num_kept,
    simulate,
    solve_active,
    solve_keep,
)

REPO = Path(__file__).resolve().parents[2]

IMAGENET = DaRParams(warmup=10, interval=2, keep=0.9, active=10, refresh=(30, 60, 90))


def events(params, epochs):
    state = ScheduleState.initial(params)
    return {e: ev for e in range(1, epochs + 1) if (ev := end_of_epoch(params, state, e))}


def test_imagenet_events_follow_the_text_rule():
    ev = events(IMAGENET, 120)
    # drops at 12, 14, 16, 18 (τ − T_start < α stops the fifth), refresh at 30, and the
    # process restarts after every refresh (the text, not the literal pseudo-code)
    assert ev == {12: DROP, 14: DROP, 16: DROP, 18: DROP, 30: REFRESH,
                  32: DROP, 34: DROP, 36: DROP, 38: DROP, 60: REFRESH,
                  62: DROP, 64: DROP, 66: DROP, 68: DROP, 90: REFRESH,
                  92: DROP, 94: DROP, 96: DROP, 98: DROP}


def test_imagenet_fractions_and_cost():
    plan = simulate(IMAGENET, 120)
    f = plan.fractions
    assert f[:12] == [1.0] * 12
    assert f[12:14] == pytest.approx([0.9, 0.9])
    assert f[14:16] == pytest.approx([0.81, 0.81])
    assert f[16:18] == pytest.approx([0.729, 0.729])
    assert f[18:30] == pytest.approx([0.6561] * 12)
    assert f[30:32] == [1.0, 1.0]
    # 12 + 2(.9 + .81 + .729) + 12(.6561) = 24.7512 for epochs 1-30;
    # 2 + 2(.9 + .81 + .729) + 22(.6561) = 21.3122 for each later 30-epoch period
    assert plan.cost == pytest.approx((24.7512 + 3 * 21.3122) / 120)


def test_refresh_wins_over_a_drop_on_the_same_epoch():
    p = DaRParams(warmup=1, interval=1, keep=0.5, active=10, refresh=(3,))
    assert events(p, 4) == {2: DROP, 3: REFRESH, 4: DROP}


def test_iid_costs_one_and_warmup_only_run_never_drops():
    assert simulate(None, 7).cost == 1.0
    assert events(DaRParams(warmup=10), 10) == {}


def test_rounding_with_a_dataset_size():
    p = DaRParams(warmup=0, interval=1, keep=0.9, active=100, refresh=())
    plan = simulate(p, 4, dataset_size=15)
    # 15 -> round(13.5)=14 -> round(12.6)=13 -> round(11.7)=12
    assert plan.sizes == [15, 14, 13, 12]
    assert plan.cost == pytest.approx((15 + 14 + 13 + 12) / 60)


@pytest.mark.parametrize("keep,n,expected", [(0.9, 10, 9), (0.5, 3, 2), (0.01, 5, 1), (1.0, 7, 7)])
def test_num_kept(keep, n, expected):
    assert num_kept(keep, n) == expected


@pytest.mark.parametrize("bad", [dict(keep=0.0), dict(keep=1.5), dict(interval=0), dict(accumulate="max")])
def test_bad_params_are_rejected(bad):
    with pytest.raises(ValueError):
        DaRParams(**bad)


def test_ranking_defaults_to_algorithm_1s_last_epoch():
    assert DaRParams().accumulate == "last"


def test_keep_fraction_solved_for_the_paper_s_reported_costs():
    solved = solve_keep(IMAGENET, 120, 0.86)
    assert solved.keep == 0.95 and simulate(solved, 120).cost == pytest.approx(0.86, abs=0.005)
    cifar = DaRParams(warmup=30, interval=5, keep=0.9, active=25, refresh=(150, 225))
    for target in (0.83, 0.92):
        assert simulate(solve_keep(cifar, 300, target), 300).cost == pytest.approx(target, abs=0.005)
    assert solve_active(IMAGENET, 120, 0.86).active == 5  # the closest α: 84.45%
    with pytest.raises(ValueError, match="out of reach"):
        solve_keep(IMAGENET, 120, 0.05)


@pytest.mark.parametrize("preset,cost", [("resnet50_imagenet_120e_dar_cost86", 0.86),
                                         ("resnet101_imagenet_120e_dar_cost86", 0.86),
                                         ("resnet110_cifar10_300e_dar_cost83", 0.83),
                                         ("resnet110_cifar100_300e_dar_cost92", 0.92)])
def test_cost_matched_presets_cost_what_the_paper_reports(preset, cost):
    from pretrain.config import load_config
    from pretrain.methods import build_method

    cfg = load_config(str(REPO / "configs" / "pretrain" / f"{preset}.py"))
    plan = build_method(cfg["arm"], None, cfg["train"]["epochs"]).plan()
    assert plan.cost == pytest.approx(cost, abs=0.005)


@pytest.mark.e2e
def test_schedule_tool_solves_for_a_target_cost():
    out = subprocess.run([sys.executable, str(REPO / "tools" / "schedule.py"),
                          str(REPO / "configs" / "pretrain" / "resnet50_imagenet_120e_dar.py"),
                          "--target-cost", "0.86", "--json"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout)
    assert result["solved"] == {"keep": 0.95} and result["cost"] == pytest.approx(0.86, abs=0.005)
