"""The contract between stage 1 and stage 2: an exported backbone and its metadata.

An export is a directory with two files:
  backbone.pth   the backbone's state dict in torchvision's key layout (`conv1.weight`,
                 `layer1.0.bn1.running_mean`, ...), classifier removed (`fc.*` for ResNet
                 and MobileNet-V1, `classifier.*` for DenseNet); float32 tensors, no pickle
                 of project classes.
  backbone.json  metadata (`BackboneExport`), with at least the keys of `REQUIRED_META`:
                 arch, arm, arm_params, dataset, num_classes, epochs, seed,
                 cost (sample-forwards / the i.i.d. run's over the same epochs; 1.0 = i.i.d.),
                 forwards, iid_forwards, wall_clock_s, top1, top5 (percent, last evaluation),
                 config_hash, versions, normalization (pixel mean/std, 0-255 scale);
                 stage 1 also writes norm ("bn" or "gn") and norm_groups (32 or null), which
                 stage 2 checks against the norm it builds (absent: "bn", as in older exports).
                 stage 1 also writes amp and amp_dtype (mixed precision: false/null, or true
                 and "float16"/"bfloat16"; exports written before lack them).
                 Stage 1 also writes image_size, reference_image_size, cost_pixels (cost ×
                 (image_size / reference)², low-resolution pretraining) and total_cost; a run
                 on a selected subset (conditional pre-training) adds subset (method,
                 fraction, seed, size, target, source_size) and selection_cost (forwards,
                 FLOPs, wall-clock, and `cost` in the unit of `cost`), and its `cost` is
                 relative to i.i.d. training on the whole source.
                 Stage 1 also writes method_label and method_order, the method's display
                 name and rank in tables (pretrain.methods.base.Method label, order; older
                 exports lack them: common.vocab.EARLIER_METHOD_LABELS, else the method's name).
                 Stage 1 also writes replicate: the experiment's pretraining seed the run
                 replicates (= seed unless the arm has a seed_offset); gather pairs the runs
                 of two arms by it (absent in older exports: seed).
                 `KEY_ORDER` lists every key stage 1 writes, in the file's order.
`BackboneExport` is the file as one object: stage 1's writers build it and write `to_json()`,
its readers (`load_backbone` for stage 2, gather) get it from `from_json`, where the rules for
files of older versions live (`method_shown`, `replicate_seed`, `trained_norm`).
Stage 2 also accepts a plain torchvision checkpoint (the official ImageNet weights): its
classifier keys are dropped and the metadata is synthesized from `--arch` (cost 1.0, the
i.i.d. recipe those weights were trained with).
"""

from __future__ import annotations

import json
import math
import numbers
import os
import pickle
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from common.files import remove_leftover_temporaries, save_torch_atomic, write_json_atomic
from common.vocab import BACKBONE_FORMAT, BACKBONE_META, BACKBONE_WEIGHTS, BN, GN, GN_GROUPS, TORCHVISION, UNRANKED

FORMAT = BACKBONE_FORMAT
CLASSIFIER_PREFIXES = ("fc.", "classifier.")
REQUIRED_META = (
    "arch", "arm", "arm_params", "dataset", "num_classes", "epochs", "seed", "cost",
    "forwards", "iid_forwards", "wall_clock_s", "top1", "top5", "config_hash", "versions",
    "normalization",
)
IMAGENET_NORMALIZATION = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]}


# Every key stage 1 writes, in the order it writes them: `to_json` writes a file's keys in this
# order (then any other key, in its own order), so that an export read back and written again is
# the same file, byte for byte.
KEY_ORDER = (
    "format", "arch", "norm", "norm_groups", "dataset", "num_classes", "seed", "replicate", "label",
    "control_of", "method_label", "method_order", "augment", "world_size", "batch_size_per_process",
    "global_batch_size", "amp", "amp_dtype", "objective", "forward_passes", "config_hash", "versions",
    "normalization", "image_size", "reference_image_size", "pixel_scale", "source_size", "subset",
    "selection_cost", "arm", "method", "arm_params", "epochs", "cost", "cost_pixels", "total_cost",
    "forwards", "backwards", "iid_forwards", "wall_clock_s", "top1", "top5", "metrics", "history", "timing",
)


class BackboneSchemaError(ValueError):
    """A backbone.json that does not follow the schema of this module's docstring."""


@dataclass(frozen=True)
class MethodShown:
    """A pretraining method as its export names it for tables: `method` (its name),
    `method_label` and `method_order` (pretrain.methods.base.Method label, order)."""

    name: str
    label: str
    order: int


def method_shown(meta: dict) -> MethodShown | None:
    """The method label and order of stage-1 metadata (an export's, or results.json `pretrain`);
    None for exports written before method_label, random init and torchvision checkpoints (their
    readers fall back to common.vocab.EARLIER_METHOD_LABELS); an order that is no int: UNRANKED."""
    name, label, order = meta.get("method"), meta.get("method_label"), meta.get("method_order")
    if not (isinstance(name, str) and name and isinstance(label, str) and label):
        return None
    return MethodShown(name, label, order if _is_int(order) else UNRANKED)


def replicate_seed(meta: dict) -> int | None:
    """The experiment's pretraining seed a run replicates, which pairs the runs of two arms:
    `replicate` (= seed unless the arm has a seed_offset), absent in older exports: `seed`."""
    seed = meta.get("replicate", meta.get("seed"))
    return seed if _is_int(seed) else None


def trained_norm(meta: dict) -> tuple[str, int | None]:
    """("bn", None) or ("gn", groups): the norm stage 1 trained with, from its metadata (an
    export's, or the random-init stand-in's); exports from before GroupNorm, and torchvision's,
    record none: BatchNorm."""
    norm = meta.get("norm") or BN
    return norm, (int(meta.get("norm_groups") or GN_GROUPS) if norm == GN else None)


@dataclass(frozen=True)
class BackboneExport:
    """backbone.json, the schema of this module's docstring: built by stage 1's writers
    (pretrain.hook), read by every reader (`load_backbone` for stage 2, gather) through
    `from_json`, which holds the rules for files written by older versions. The keys of
    `REQUIRED_META` are fields; every other key is in `extra`, as written."""

    arch: str
    arm: str
    dataset: str | None
    # what every writer fills; a reader of an incomplete file (complete=False) may find them absent
    arm_params: dict | None = None
    num_classes: int | None = None
    epochs: int | None = None
    seed: int | None = None
    cost: float | None = None
    forwards: int | None = None
    iid_forwards: int | None = None
    wall_clock_s: float | None = None
    top1: float | None = None
    top5: float | None = None
    config_hash: str | None = None
    versions: dict | None = None
    normalization: dict | None = None
    extra: dict = field(default_factory=dict)  # every other key (norm, method_label, history, ...)
    format: str = FORMAT

    def to_json(self) -> dict:
        """The file's object, keys in `KEY_ORDER` (then any other, in `extra`'s order);
        validated, so a run never writes a file its readers refuse."""
        values = {"format": self.format, **{key: getattr(self, key) for key in REQUIRED_META}, **self.extra}
        obj = {key: values.pop(key) for key in KEY_ORDER if key in values}
        obj.update(values)
        validate_backbone_meta(obj)
        return obj

    @classmethod
    def from_json(cls, obj, complete: bool = True, source: str = BACKBONE_META) -> BackboneExport:
        """The export of a parsed backbone.json, or of stage 1's metadata (which leaves `format`
        out: files without it read as this format). complete=True demands every key of
        `REQUIRED_META`; complete=False, for readers of older or hand-made files (gather), only
        what names the run (arch, arm, dataset): the rest is read as far as it is there.
        Raises BackboneSchemaError, one line naming `source`."""
        validate_backbone_meta(obj, complete, source)
        return cls(**{key: obj.get(key) for key in REQUIRED_META},
                   extra={k: v for k, v in obj.items() if k not in REQUIRED_META and k != "format"},
                   format=obj.get("format", FORMAT))

    @property
    def method_shown(self) -> MethodShown | None:
        return method_shown(self.extra)

    @property
    def replicate(self) -> int | None:
        return replicate_seed({**self.extra, "seed": self.seed})

    @property
    def metrics(self) -> dict:
        """The last evaluation's metrics (`metrics`, absent in older exports: {})."""
        return self.extra.get("metrics") or {}

    @property
    def history(self) -> list:
        """One row per epoch (pretrain.hook.MethodHook; absent in older exports: [])."""
        return self.extra.get("history") or []


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def validate_backbone_meta(obj, complete: bool = True, source: str = BACKBONE_META) -> None:
    """Raise BackboneSchemaError (one line naming `source`) listing every way `obj` breaks the
    backbone.json schema; complete=False checks only what `BackboneExport.from_json` says."""
    if not isinstance(obj, dict):
        raise BackboneSchemaError(f"backbone metadata {source} must be a JSON object, got {type(obj).__name__}")
    missing = [k for k in REQUIRED_META if k not in obj]
    if complete and missing:
        raise BackboneSchemaError(f"backbone metadata {source} lacks keys {missing}")
    problems = []
    if obj.get("format", FORMAT) != FORMAT:
        problems.append(f"format is {obj.get('format')!r}, expected {FORMAT!r}")
    for key in ("arch", "arm", "dataset"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            problems.append(f"{key!r} must be a non-empty string, got {obj.get(key)!r}")
    for key in ("seed", "epochs", "num_classes"):
        if obj.get(key) is not None and not _is_int(obj[key]):
            problems.append(f"{key!r} must be an int or null, got {obj[key]!r}")
    cost = obj.get("cost")
    if (cost is not None or complete) and not (_is_number(cost) and math.isfinite(cost) and cost >= 0):
        problems.append(f"'cost' must be a number >= 0, got {cost!r}")
    for key, kind in (("arm_params", dict), ("metrics", dict), ("history", list)):
        if obj.get(key) is not None and not isinstance(obj[key], kind):
            problems.append(f"{key!r} must be a {kind.__name__}, got {type(obj[key]).__name__}")
    if problems:
        raise BackboneSchemaError(f"backbone metadata {source}: " + "; ".join(problems))


def strip_classifier(state_dict: dict) -> dict:
    """The backbone part of a classifier's state dict (torchvision key layout)."""
    return {
        k: v.detach().cpu().clone() for k, v in state_dict.items()
        if not k.startswith(CLASSIFIER_PREFIXES) and not k.endswith("num_batches_tracked")
    }


def write_export(out_dir: str | os.PathLike, classifier_state: dict, export: BackboneExport) -> Path:
    """Write backbone.pth and backbone.json atomically into `out_dir`; return the .pth path."""
    meta = export.to_json()  # validated before anything is written
    out_dir = Path(out_dir)
    if out_dir.is_dir():
        remove_leftover_temporaries(out_dir)  # of an earlier export killed mid-write
    weights = out_dir / BACKBONE_WEIGHTS
    save_torch_atomic(weights, strip_classifier(classifier_state))
    write_json_atomic(out_dir / BACKBONE_META, meta)
    return weights


def resolve_backbone_path(path: str | os.PathLike) -> Path:
    """Accept an export directory or a .pth file; fail clearly when it does not exist."""
    path = Path(path)
    if path.is_dir():
        path = path / BACKBONE_WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"backbone checkpoint not found: {path}")
    return path


def load_backbone(path: str | os.PathLike, arch: str | None = None) -> tuple[dict, dict]:
    """Load an export (or a plain torchvision checkpoint) → (backbone state dict, metadata).

    The metadata's arch must match `arch` when both are given; a plain checkpoint without
    backbone.json needs `arch`.
    """
    path = resolve_backbone_path(path)
    if is_training_checkpoint(path):
        raise ValueError(
            f"{path} is a training checkpoint (optimizer, sampling state, ...), not a backbone export; "
            f"export its backbone first: python tools/export.py {path} --out EXPORT_DIR, then --backbone "
            "EXPORT_DIR")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:  # names code: refused, never run
        raise ValueError(f"refused to load backbone checkpoint {path}: its pickle names code or classes beyond "
                         f"tensors (torch.load weights_only=True: {_unpickler_error(exc)})") from None
    except Exception as exc:  # corrupt or truncated file, or not a state dict
        raise ValueError(f"cannot read backbone checkpoint {path} (truncated, damaged, or not a "
                         f"checkpoint): {type(exc).__name__}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not a state dict of tensors")
    state = strip_classifier(state)

    meta_path = path.with_suffix(".json")
    if meta_path.is_file():
        try:
            obj = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"backbone metadata {meta_path} is not valid JSON: {exc}") from exc
        meta = BackboneExport.from_json(obj, source=str(meta_path)).to_json()
        if arch is not None and meta["arch"] != arch:
            raise ValueError(f"--arch {arch} but {meta_path} says the backbone is {meta['arch']}")
    else:
        if arch is None:
            raise ValueError(
                f"{path} has no metadata ({meta_path.name}); pass --arch to use it as a plain "
                "torchvision checkpoint"
            )
        meta = plain_checkpoint_meta(arch)
    meta["path"] = str(path)
    return state, meta


def _unpickler_error(exc: Exception) -> str:
    """The line of torch's weights-only refusal that names the culprit."""
    found = re.search(r"WeightsUnpickler error: (.*)", str(exc))
    return found.group(1) if found else str(exc).splitlines()[0]


def is_training_checkpoint(path: str | os.PathLike) -> bool:
    """True for a checkpoint written by a training run (mmengine's Runner.save_checkpoint), told
    by the names of its top-level entries in the pickle (message_hub with optimizer or
    param_schedulers, which an export never has), without unpickling anything."""
    try:
        with zipfile.ZipFile(path) as archive:
            pickle_name = next((n for n in archive.namelist() if n.endswith("data.pkl")), None)
            head = archive.read(pickle_name) if pickle_name else b""  # references only: small
    except (zipfile.BadZipFile, OSError, KeyError):
        return False
    return b"message_hub" in head and (b"optimizer" in head or b"param_schedulers" in head)


def plain_checkpoint_meta(arch: str) -> dict:
    """Metadata for an official torchvision checkpoint: i.i.d. ImageNet training, cost 1.0."""
    return {
        "format": FORMAT, "arch": arch, "arm": TORCHVISION, "arm_params": {},
        "dataset": "imagenet", "num_classes": 1000, "epochs": None, "seed": None,
        "cost": 1.0, "forwards": None, "iid_forwards": None, "wall_clock_s": None,
        "top1": None, "top5": None, "config_hash": None, "versions": None,
        "normalization": IMAGENET_NORMALIZATION,
    }
