"""Small shared helpers: atomic writes, package versions, config hashes."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
from pathlib import Path

_PACKAGES = ("torch", "torchvision", "numpy", "mmengine", "mmcv", "mmdet", "mmsegmentation", "mmpose")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    A crash or an error leaves the previous file (or nothing), never a half-written one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Write `obj` as indented JSON through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def config_hash(cfg: dict) -> str:
    """Stable 16-hex-digit hash of a plain (JSON-able) config dict."""
    text = json.dumps(cfg, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def init_cpu_process_group(launcher: str) -> None:
    """Start torch.distributed with gloo for a multi-process CPU run.

    mmengine 0.10.7's init_dist always calls torch.cuda.set_device, which fails without a GPU;
    the Runner skips its own init when a process group already exists.
    """
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if launcher != "pytorch":
        raise ValueError(f"launcher {launcher!r} needs GPUs here (mmengine's init_dist); for a "
                         "multi-process CPU run start the processes with torchrun and "
                         "--launcher pytorch")
    dist.init_process_group(backend="gloo")  # RANK, WORLD_SIZE, MASTER_* from torchrun
