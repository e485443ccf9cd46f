"""The subset file: which source samples a conditional pretraining run trains on.

`tools/select_subset.py` writes it (pretrain.selection), a pretraining config reads it with
`data.subset=PATH`. JSON, written atomically:
  format     "transfer-suite/subset/v1"
  method     random | domain_classifier | clustering_avg | clustering_min | active | inverse_active
  fraction   the kept share of the source (e.g. 0.06), size = round(fraction × source size)
  seed       the selection's seed (random draw, K-means init, random-init feature network)
  params     the method's parameters (e.g. {"k": 200})
  source     {"config", "data" (its data dict), "size", "hash"}: hash = sha256 of the source's
             sample list (file paths relative to the root + labels, or the pixels + labels of
             an in-memory set), so a subset is never applied to another source
  target     {"root", "size", "hash", "classes"}: the target's training split it was chosen for
  features   the feature network and resolution the scores were computed on
  cost       what the selection itself cost: forwards, FLOPs, wall-clock of the feature passes
             and of the classifier / K-means fit
  indices    the kept source indices, ascending
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from common.files import write_json_atomic
from common.vocab import SUBSET_FORMAT

REQUIRED_KEYS = ("format", "method", "fraction", "seed", "source", "target", "cost", "indices")


def sample_list_hash(dataset) -> str:
    """sha256 (16 hex digits) of a dataset's sample list: what identifies the source set.

    File datasets (ImageFolder, ListDataset) hash their paths relative to their root and the
    labels (cheap at ImageNet scale; a moved root hashes alike); in-memory sets (the shapes,
    CIFAR) hash their pixels and labels.
    """
    digest = hashlib.sha256()
    samples = getattr(dataset, "samples", None)
    if samples is not None:
        root = os.path.commonpath(samples) if len(samples) > 1 else os.path.dirname(samples[0])
        for path in samples:
            digest.update(os.path.relpath(path, root).encode() + b"\0")
    else:
        digest.update(np.ascontiguousarray(dataset.images).tobytes())
    digest.update(np.asarray(dataset.targets, dtype=np.int64).tobytes())
    return digest.hexdigest()[:16]


def subset_size(fraction: float, source_size: int) -> int:
    """round(fraction × source size), at least 1; the fraction must lie in (0, 1]."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    return max(1, round(fraction * source_size))


def write_subset(path: str | os.PathLike, record: dict) -> Path:
    """Write a subset record (see the module doc) through a temporary file and a rename."""
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f"subset record lacks {missing}")
    write_json_atomic(path, {**record, "indices": [int(i) for i in record["indices"]]})
    return Path(path)


def read_subset(path: str | os.PathLike) -> dict:
    """The subset record of `path`; errors name the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"subset file not found: {path} (data.subset)")
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"subset file {path} is not valid JSON: {exc}") from None
    if not isinstance(record, dict) or record.get("format") != SUBSET_FORMAT:
        raise ValueError(f"subset file {path} is not a {SUBSET_FORMAT} file (format "
                         f"{record.get('format') if isinstance(record, dict) else None!r})")
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f"subset file {path} lacks {missing}")
    return record


def subset_indices(path: str | os.PathLike, source) -> tuple[np.ndarray, dict]:
    """(kept indices, record) of the subset file `path`, checked against the `source` dataset:
    same size and sample-list hash as the one it was selected from, indices unique and in range."""
    record = read_subset(path)
    size, digest = len(source), sample_list_hash(source)
    recorded = record["source"]
    if recorded.get("size") != size or recorded.get("hash") != digest:
        raise ValueError(
            f"subset file {path} was selected from a source of {recorded.get('size')} samples (hash "
            f"{recorded.get('hash')}, config {recorded.get('config')}), but this config's training set has "
            f"{size} samples (hash {digest}): select the subset again for this source")
    indices = np.asarray(record["indices"], dtype=np.int64)
    if indices.ndim != 1 or indices.size == 0:
        raise ValueError(f"subset file {path}: 'indices' must be a non-empty list")
    if indices.min() < 0 or indices.max() >= size or np.unique(indices).size != indices.size:
        raise ValueError(f"subset file {path}: indices must be unique and in [0, {size})")
    return np.sort(indices), record
