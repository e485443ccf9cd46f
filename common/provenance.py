"""What every artifact records about how it was made: a config hash and package versions."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# The packages that decide the numbers (stage 2's toolboxes included: a transfer result
# depends on them, and a backbone is recorded with the stack it will be read by).
_PACKAGES = ("torch", "torchvision", "numpy", "mmengine", "mmcv", "mmdet", "mmsegmentation", "mmpose")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages that decide the numbers."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def to_plain(obj):
    """Dicts (mmengine ConfigDicts included), tuples and numpy/torch scalars → plain JSON types."""
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):  # numpy / torch scalars
        return obj.item()
    return obj


def _repo_relative(obj, repo: str):
    if isinstance(obj, str):
        return obj.replace(repo, "<repo>")
    if isinstance(obj, dict):
        return {k: _repo_relative(v, repo) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_repo_relative(v, repo) for v in obj]
    return obj


def config_hash(cfg) -> str:
    """Stable 16-hex-digit hash of a resolved config (a dict of plain or config values).

    Hash what ran, not a file's text: pass the config after every `_base_` level and override
    is merged (mmengine's `Config.fromfile` + `merge_from_dict`, then `.to_dict()`). Paths
    inside this checkout count relative to it, so two clones hash alike.
    """
    plain = _repo_relative(to_plain(cfg), str(REPO_ROOT))
    text = json.dumps(plain, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
