"""Portable CPU numerics, on request: the same floating-point results on every x86-64 machine.

PyTorch picks its CPU kernels at run time from the instruction sets the processor offers:
ATen's own vectorized kernels, oneDNN's convolutions and MKL's matrix products each have
AVX-512 and AVX2 variants, and they round differently. A few hundred training steps amplify
that into different metrics (the demo's FPN Δ changed sign between two machines). Measured
here (tools/bench_numerics.py, five ResNet-18 steps): with the same kernels the weights are
bit-identical run to run, at 1 or 3 threads alike; capping ATen or oneDNN at AVX2 changes
them. Capping all three at AVX2 makes an AVX-512 machine compute what an AVX2-only machine
does, but oneDNN's AVX2 convolutions cost 1.6x the time of its AVX-512 ones on this
project's machines (ATen's and MKL's cap cost nothing measurable). So the cap is opt-in:
`TRANSFER_SUITE_PORTABLE_NUMERICS=1` before a tool starts (tools/_bootstrap.py applies it).

The variables are read once, when torch loads its kernels: `pin_cpu_numerics` must run before
`import torch`. A variable the user has set wins.
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


REQUEST = "TRANSFER_SUITE_PORTABLE_NUMERICS"  # "1": cap the kernels (pin_cpu_numerics)


def pin_cpu_numerics(environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Cap torch's CPU kernels at AVX2 if `environ` asks for it (REQUEST=1), leaving any
    variable the user set alone; return the variables in effect ({} when not asked).

    Raises RuntimeError when torch is already imported: the cap would silently not apply.
    """
    if environ.get(REQUEST, "0") != "1":
        return {}
    if "torch" in sys.modules and environ is os.environ:
        missing = [k for k in PORTABLE_CPU_ENV if k not in environ]
        if missing:
            raise RuntimeError(f"pin_cpu_numerics() must run before `import torch` ({', '.join(missing)} "
                               "would not take effect)")
    for key, value in PORTABLE_CPU_ENV.items():
        environ.setdefault(key, value)
    return {key: environ[key] for key in PORTABLE_CPU_ENV}

# What the benchmark compares the cap with: the best kernels this machine has.
UNCAPPED_CPU_ENV = {"ATEN_CPU_CAPABILITY": "avx512", "ONEDNN_MAX_CPU_ISA": "ALL", "MKL_CBWR": "AUTO"}


def training_fingerprint(steps: int = 5, batch: int = 16, size: int = 64) -> dict:
    """Train a ResNet-18 for `steps` SGD steps on fixed random data; return the seconds per
    step (after one warm-up step), a hash of the final weights and the kernels torch used."""
    import hashlib
    import time

    import torch
    import torchvision

    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    images, labels = torch.randn(batch, 3, size, size), torch.randint(0, 8, (batch,))
    for step in range(steps + 1):
        if step == 1:
            started = time.perf_counter()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    weights = torch.cat([p.detach().flatten() for p in model.parameters()]).numpy()
    return {"seconds_per_step": (time.perf_counter() - started) / steps,
            "weights_sha1": hashlib.sha1(weights.tobytes()).hexdigest()[:16],
            "capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
