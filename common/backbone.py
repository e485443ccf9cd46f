"""The contract between stage 1 and stage 2: an exported backbone and its metadata.

An export is a directory with two files:
  backbone.pth   the backbone's state dict in torchvision's key layout (`conv1.weight`,
                 `layer1.0.bn1.running_mean`, ...), classifier removed (`fc.*` for ResNet
                 and MobileNet-V1, `classifier.*` for DenseNet); float32 tensors, no pickle
                 of project classes.
  backbone.json  metadata, with at least the keys of `REQUIRED_META`:
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
Stage 2 also accepts a plain torchvision checkpoint (the official ImageNet weights): its
classifier keys are dropped and the metadata is synthesized from `--arch` (cost 1.0, the
i.i.d. recipe those weights were trained with).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import zipfile
from pathlib import Path

import torch

from common.files import remove_leftover_temporaries, save_torch_atomic, write_json_atomic
from common.vocab import BACKBONE_FORMAT, BACKBONE_META, BACKBONE_WEIGHTS, TORCHVISION

FORMAT = BACKBONE_FORMAT
CLASSIFIER_PREFIXES = ("fc.", "classifier.")
REQUIRED_META = (
    "arch", "arm", "arm_params", "dataset", "num_classes", "epochs", "seed", "cost",
    "forwards", "iid_forwards", "wall_clock_s", "top1", "top5", "config_hash", "versions",
    "normalization",
)
IMAGENET_NORMALIZATION = {"mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]}


def strip_classifier(state_dict: dict) -> dict:
    """The backbone part of a classifier's state dict (torchvision key layout)."""
    return {
        k: v.detach().cpu().clone() for k, v in state_dict.items()
        if not k.startswith(CLASSIFIER_PREFIXES) and not k.endswith("num_batches_tracked")
    }


def write_export(out_dir: str | os.PathLike, classifier_state: dict, meta: dict) -> Path:
    """Write backbone.pth and backbone.json atomically into `out_dir`; return the .pth path."""
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise ValueError(f"export metadata lacks {missing}")
    out_dir = Path(out_dir)
    if out_dir.is_dir():
        remove_leftover_temporaries(out_dir)  # of an earlier export killed mid-write
    weights = out_dir / BACKBONE_WEIGHTS
    save_torch_atomic(weights, strip_classifier(classifier_state))
    write_json_atomic(out_dir / BACKBONE_META, {"format": FORMAT, **meta})
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
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"backbone metadata {meta_path} is not valid JSON: {exc}") from exc
        missing = [k for k in REQUIRED_META if k not in meta]
        if missing:
            raise ValueError(f"backbone metadata {meta_path} lacks keys {missing}")
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
