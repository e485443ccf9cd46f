"""tools/bench_cpu.py: the ratios it prints, and a smoke run of the whole probe."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cpu_bench import format_probe, step_ratios
from pipeline.parallel import threads_per_job

REPO = Path(__file__).resolve().parents[2]


def test_the_ratios_say_what_two_threads_two_processes_and_channels_last_buy():
    medians = {"contiguous_2t": 0.445, "contiguous_1t": 0.767, "contiguous_pair": 0.80,
               "channels_last_2t": 0.42, "channels_last_1t": 0.73}
    ratios = step_ratios(medians)
    assert ratios["contiguous_threads_speedup"] == pytest.approx(0.767 / 0.445)
    # two processes each at 0.80 s/step do 2.5 steps/s; one 2-thread process 2.25
    assert ratios["contiguous_pair_over_2t"] == pytest.approx(2.5 / (1 / 0.445))
    assert ratios["channels_last_gain_2t"] == pytest.approx(0.445 / 0.42)
    assert "channels_last_pair_over_2t" not in ratios  # not measured: not invented


def test_the_detectors_roi_align_gain_is_the_ratio_of_their_two_rows():
    machine = {"cpu": "x", "cores": 2, "avx512f": False, "avx2": True, "torch_capability": "AVX2", "capped": {},
               "load_average": [0.1]}
    report = {"machine": machine, "rounds": 1, "steps_per_block": 1, "fixed": {}, "steps": {
        "fpn_tiny": {"seconds_per_step": {"contiguous_2t": 0.5, "contiguous_1t": 0.7}, "ratios": {}},
        "fpn_tiny:mmcv_roialign": {"seconds_per_step": {"contiguous_2t": 0.6, "contiguous_1t": 1.05}, "ratios": {}}}}
    text = format_probe(report)
    assert "fpn_tiny: MatmulRoIAlign over mmcv's RoIAlign kernel (s/step of mmcv's / ours): 1.20x at 2 threads, " \
           "1.50x at 1 thread" in text
    assert "mask_rcnn_tiny: MatmulRoIAlign" not in text  # not measured: no line


def test_threads_are_shared_out_among_the_jobs():
    assert threads_per_job(2, cores=2) == 1 and threads_per_job(2, cores=8) == 4 and threads_per_job(4, cores=2) == 1


@pytest.mark.e2e
def test_the_quick_probe_prints_the_ratios_and_a_cells_fixed_costs():
    result = subprocess.run([sys.executable, str(REPO / "tools" / "bench_cpu.py"), "--quick", "--json"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    steps = report["steps"]["resnet18_demo"]
    assert set(steps["seconds_per_step"]) == {f"{f}_{k}" for f in ("contiguous", "channels_last")
                                              for k in ("2t", "1t", "pair")}
    assert steps["ratios"]["contiguous_pair_over_2t"] > 0
    cell = report["fixed"]["fpn_tiny"]
    assert cell["train_iters"] == 2 and cell["toolbox_import_s"] > 0 and cell["evaluate_s"] > 0
    assert report["machine"]["cpu"] and report["machine"]["torch_capability"]
