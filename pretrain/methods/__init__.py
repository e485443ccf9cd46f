"""Pretraining methods: one module per method, found by name.

`get_method("dar")` imports `pretrain/methods/dar.py` and returns its Method subclass whose
`name` is "dar"; a module name is its method's name. Folders listed in the environment variable
TRANSFER_SUITE_METHODS (separated by ':') are searched the same way after this package, so a
method can live outside the checkout. The interface: pretrain/methods/base.py.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from pretrain.methods.base import EpochPlan, Method

__all__ = ["EpochPlan", "Method", "available_methods", "build_method", "get_method"]

_PACKAGE_DIR = Path(__file__).resolve().parent
_NOT_METHODS = {"__init__", "base"}
ENV_PATH = "TRANSFER_SUITE_METHODS"


def _extra_dirs() -> list[Path]:
    return [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p]


def available_methods() -> list[str]:
    """Names of every method module, this package's first."""
    names = sorted(p.stem for p in _PACKAGE_DIR.glob("*.py") if p.stem not in _NOT_METHODS)
    for folder in _extra_dirs():
        names += sorted(p.stem for p in folder.glob("*.py") if p.stem not in names and not p.stem.startswith("_"))
    return names


def _load_module(name: str):
    if (_PACKAGE_DIR / f"{name}.py").is_file() and name not in _NOT_METHODS:
        return importlib.import_module(f"pretrain.methods.{name}")
    for folder in _extra_dirs():
        path = folder / f"{name}.py"
        if path.is_file():
            module_name = f"transfer_suite_methods.{name}"
            if module_name not in sys.modules:
                spec = importlib.util.spec_from_file_location(module_name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[module_name] = module
                spec.loader.exec_module(module)
            return sys.modules[module_name]
    return None


def get_method(name: str) -> type[Method]:
    """The Method subclass called `name`; a clear error listing the known methods otherwise."""
    module = _load_module(name) if isinstance(name, str) and name.isidentifier() else None
    found = [obj for obj in vars(module).values()
             if isinstance(obj, type) and issubclass(obj, Method) and obj.name == name] if module else []
    if not found:
        where = f"pretrain/methods/{name}.py" + (f" or ${ENV_PATH}" if _extra_dirs() else "")
        raise ValueError(f"unknown pretraining method (arm.name) {name!r}: no Method named so in {where}; "
                         f"known: {', '.join(available_methods())}")
    return found[0]


def build_method(arm: dict, dataset_size: int | None, epochs: int, seed: int = 0) -> Method:
    """The method an `arm` dict configures: name=<method>, the rest its parameters."""
    params = {k: v for k, v in dict(arm).items() if k != "name"}
    return get_method(arm.get("name"))(dataset_size, epochs, seed, **params)
