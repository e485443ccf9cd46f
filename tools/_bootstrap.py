"""Imported first by every tool: take tools/ off the import path, so tools run from anywhere.

Python puts a script's own folder first on `sys.path`, so `tools/pretrain.py` would shadow
the `pretrain` package (likewise transfer, gather, pipeline). The packages are installed into
.venv by the set-up (`pip install -e .`); a Python without them (a checkout used without
`make setup`) gets the checkout's root instead.

With TRANSFER_SUITE_PORTABLE_NUMERICS=1 it also caps torch's CPU kernels at AVX2 before
anything imports torch (common.numerics): the same numbers on every x86-64 machine, slower.
"""

import importlib
import sys
from pathlib import Path

_TOOLS = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _TOOLS]
try:
    import common  # noqa: F401  (installed: nothing more to do)
except ImportError:
    sys.path.insert(0, str(_TOOLS.parent))

importlib.import_module("common.numerics").pin_cpu_numerics()  # needs the path fixed above
