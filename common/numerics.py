"""Portable CPU numerics: the same floating-point results on every x86-64 machine with AVX2.

PyTorch picks its CPU kernels at run time from the instruction sets the processor offers:
ATen's own vectorized kernels, oneDNN's convolutions and MKL's matrix products each have
AVX-512 and AVX2 variants, and they round differently. A few hundred training steps amplify
that into different metrics: the demo's FPN Δ changed sign between two machines of this
project. Capping all three at AVX2 makes an AVX-512 machine compute what an AVX2-only one
does (measured here: five ResNet-18 steps give bit-identical weights run to run under the cap,
and different weights for each of ATen and oneDNN left uncapped); the thread count did not
change the results. Costs little: Zen 4's AVX-512 runs on 256-bit units anyway
(tools/bench_numerics.py measures it side by side).

Environment variables, read once when torch loads its kernels: `pin_cpu_numerics` must run
before `import torch`. Every tool calls it through tools/_bootstrap.py, the test suite through
tests/conftest.py. A variable the user has set wins (e.g. `ATEN_CPU_CAPABILITY=default` for
the machine's fastest kernels).
"""

from __future__ import annotations

import os
import sys
from collections.abc import MutableMapping

PORTABLE_CPU_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",  # ATen's vectorized CPU kernels
    "ONEDNN_MAX_CPU_ISA": "AVX2",  # oneDNN (mkldnn) convolutions
    "MKL_CBWR": "AVX2",  # MKL conditional numerical reproducibility (GEMM)
}


def pin_cpu_numerics(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Cap torch's CPU kernels at AVX2 unless the user chose otherwise; return what is in effect.

    Raises RuntimeError when torch is already imported: the cap would silently not apply.
    """
    if "torch" in sys.modules and environ is os.environ:
        missing = [k for k in PORTABLE_CPU_ENV if k not in environ]
        if missing:
            raise RuntimeError(f"pin_cpu_numerics() must run before `import torch` ({', '.join(missing)} "
                               "would not take effect)")
    for key, value in PORTABLE_CPU_ENV.items():
        environ.setdefault(key, value)
    return {key: environ[key] for key in PORTABLE_CPU_ENV}
