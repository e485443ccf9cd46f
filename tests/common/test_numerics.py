"""The AVX2 cap of common.numerics: opt-in, before torch, and it reaches the tools' processes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from common.numerics import PORTABLE_CPU_ENV, REQUEST, pin_cpu_numerics

REPO = Path(__file__).resolve().parents[2]


def test_the_cap_is_opt_in_and_leaves_the_users_choices():
    assert pin_cpu_numerics({}) == {}
    env = {REQUEST: "1", "ATEN_CPU_CAPABILITY": "default"}
    assert pin_cpu_numerics(env) == {**PORTABLE_CPU_ENV, "ATEN_CPU_CAPABILITY": "default"}


def test_too_late_is_an_error_not_a_silent_no_op(monkeypatch):
    import torch  # noqa: F401  (already imported by the suite; the point is that it is)

    for key in PORTABLE_CPU_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv(REQUEST, "1")
    with pytest.raises(RuntimeError, match="before `import torch`"):
        pin_cpu_numerics()


@pytest.mark.skipif("avx2" not in Path("/proc/cpuinfo").read_text(), reason="the cap needs an AVX2 CPU")
@pytest.mark.e2e
def test_a_tool_started_with_the_request_runs_torch_on_avx2_kernels(tmp_path):
    probe = tmp_path / "probe.py"  # a tool's first lines, then what torch chose
    probe.write_text(f"import sys; sys.path.insert(0, {str(REPO / 'tools')!r})\nimport _bootstrap\n"
                     "import torch; print(torch.backends.cpu.get_cpu_capability())\n")
    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_CPU_ENV}
    capped = subprocess.run([sys.executable, str(probe)], env={**env, REQUEST: "1"}, capture_output=True,
                            text=True, check=True)
    assert capped.stdout.strip() == "AVX2"
