"""results.json: one file per transfer run, in the run's work dir, written atomically.

`TransferResults` is the file as one object: its writers build it and write `to_json()`, its
readers (gather) get it from `from_json`, where the rules for files of older versions live.

Schema (format "transfer-suite/results/v1"; `validate_results` enforces it):
  format         "transfer-suite/results/v1"
  task           a name of common.vocab.TASK_FAMILIES, e.g. "fpn", "pspnet_tiny"
  arm            the stage-1 arm ("iid", "dar", ..., "torchvision" for an official checkpoint)
                 or "random_init"; equals pretrain.arm
  seed           int, the fine-tuning seed (mmengine `randomness.seed`)
  backbone       the checkpoint path as given, or "none" for random init
  pretrain       the stage-1 metadata (common.backbone: arch, arm, arm_params, dataset,
                 num_classes, epochs, seed, cost, forwards, iid_forwards, wall_clock_s, top1,
                 top5, config_hash, versions, normalization, path); for random init
                 {"arm": "random_init", "cost": 0.0, "arch": <the config's arch>,
                 "norm": <the norm the task builds, "bn" or "gn">, rest null}
  metrics        {name: number} exactly as the toolbox evaluator returned them, names included:
                 mmdet CocoMetric  coco/bbox_mAP, coco/bbox_mAP_50, coco/bbox_mAP_75,
                                   coco/bbox_mAP_s, coco/bbox_mAP_m, coco/bbox_mAP_l
                                   (+ the same six coco/segm_* for Mask R-CNN); fractions,
                                   -1.0 where COCO has no ground truth of that size
                 mmseg IoUMetric   aAcc, mIoU, mAcc; percent
                 mmpose CocoMetric coco/AP, coco/AP .5, coco/AP .75, coco/AP (M), coco/AP (L),
                                   coco/AR, coco/AR .5, coco/AR .75, coco/AR (M), coco/AR (L)
                 fine-grained      top1, top5; percent (transfer/classification.py, whose
                                   protocol also records mode, image_size and data_root)
  per_class      semantic segmentation only: {"IoU": {class: percent or null}, "Acc": {...}},
                 the table mmseg's IoUMetric prints; null = class absent from ground truth
                 and predictions (NaN in mmseg's table)
  notes          optional list of strings: what a reader of the numbers must know (e.g. a
                 detector that produced no detection at all, whose COCO metrics are set to 0)
  backbone_contract  {"tensors_loaded": int, "unexpected_keys": [checkpoint keys the backbone
                 does not have]}: what the contract check found (0 and [] for random init)
  protocol       what every arm of a comparison shares: norm_cfg, norm_eval, frozen_stages
                 (backbone BN protocol), mean, std, bgr_to_rgb (pixel normalization, from the
                 task config), optimizer, batch_size_per_process, world_size (processes),
                 effective_batch_size (their product), reference_batch_size (the batch the
                 recipe's lr is set for, or null), lr_scaled (--auto-scale-lr), amp (the
                 autocast dtype of --amp, "float16" or "bfloat16", null without; files written
                 before it lack the key), max_iters or max_epochs; detection tasks also schedule
                 ("1x", "2x", "3x" or "6x": the task config's 1x scaled by --schedule,
                 transfer.schedule) and lr_milestones (in the loop's unit); train_iters
                 (optional): the iterations the run trained, as counted by the Runner. Files
                 written before schedules existed lack schedule: their detection runs ran the
                 task config's 1x (gather reads them so)
  config_hash    16 hex digits: the recipe's hash (transfer.build.recipe_hash), equal for all
                 arms and seeds of one task config and overrides
  versions       {package: version} (common.provenance.versions)
  wall_clock_s   seconds from the start of run_transfer to the end of the test
  work_dir       the run's work dir (logs, config dump)
  timing         optional, where the run's time went (common.timing), seconds: start-up
                 (toolbox_import_s: 0 but in a process's first run, build_config_s,
                 check_data_s, runner_build_s, train_setup_s), training (train_s, split into
                 train_data_s waiting for batches, train_compute_s the steps with their hooks,
                 train_other_s the rest; train_iters), evaluation (val_s, test_setup_s,
                 test_inference_s, evaluate_s: the metric), total_s, threads (torch's);
                 files written before it lack the key
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field

from common.vocab import (
    DEFAULT_SCHEDULE,
    FAMILY_METRICS,
    RANDOM_INIT,
    RESULTS_FORMAT,
    SCHEDULED_FAMILIES,
    SCHEDULES,
    TASK_FAMILIES,
)

REQUIRED_KEYS = ("format", "task", "arm", "seed", "backbone", "pretrain", "metrics", "protocol",
                 "config_hash", "versions", "wall_clock_s")
REQUIRED_PROTOCOL = ("norm_cfg", "norm_eval", "frozen_stages", "mean", "std")


class ResultsSchemaError(ValueError):
    """A results object that does not follow the schema of this module's docstring."""


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def clean_number(value):
    """A float for JSON: numpy scalars unwrapped, NaN -> None (None stays None: a file read back)."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


@dataclass(frozen=True)
class TransferResults:
    """results.json of one transfer run, the schema of this module's docstring: built by the
    writers (transfer.run, transfer.classification), read back by every reader (gather) through
    `from_json`, which holds the rules for files written by older versions."""

    task: str
    arm: str
    seed: int
    backbone: str | None
    pretrain: dict
    metrics: dict
    # what every writer fills; a reader of an incomplete file (complete=False) may find them absent
    protocol: dict = field(default_factory=dict)
    config_hash: str | None = None
    versions: dict | None = None
    wall_clock_s: float | None = None
    work_dir: str | None = None
    # optional in the schema: absent keys stay absent in the file
    per_class: dict | None = None
    backbone_contract: dict | None = None
    notes: tuple[str, ...] = ()
    timing: dict | None = None
    format: str = RESULTS_FORMAT

    def to_json(self) -> dict:
        """The file's object, keys in the schema's order, numbers made JSON-safe (numpy scalars
        unwrapped, NaN -> null); validated, so a run never writes a file its readers refuse."""
        obj = {"format": self.format, "task": self.task, "arm": self.arm, "seed": int(self.seed),
               "backbone": self.backbone, "pretrain": self.pretrain,
               "metrics": {str(k): clean_number(v) for k, v in self.metrics.items()}}
        if self.per_class:
            obj["per_class"] = {name: {cls: clean_number(v) for cls, v in values.items()}
                                for name, values in self.per_class.items()}
        if self.backbone_contract is not None:
            obj["backbone_contract"] = self.backbone_contract
        if self.notes:
            obj["notes"] = list(self.notes)
        obj.update({"protocol": self.protocol, "config_hash": self.config_hash, "versions": self.versions,
                    "wall_clock_s": float(self.wall_clock_s), "work_dir": str(self.work_dir)})
        if self.timing is not None:
            obj["timing"] = self.timing
        validate_results(obj)
        return obj

    @classmethod
    def from_json(cls, obj, complete: bool = True) -> TransferResults:
        """The results of a parsed results.json. complete=True demands the whole schema
        (validate_results); complete=False, for readers of older or hand-made files, only what
        names the run (format, task, arm, seed, pretrain.arch, metrics as a dict, pretrain.cost a
        number if present): the rest is read as far as it is there. Raises ResultsSchemaError."""
        if complete:
            validate_results(obj)
        else:
            _raise_if(_identity_problems(obj))
        protocol = obj.get("protocol")
        return cls(task=obj["task"], arm=obj["arm"], seed=obj["seed"], backbone=obj.get("backbone"),
                   pretrain=obj["pretrain"], metrics=obj["metrics"],
                   protocol=protocol if isinstance(protocol, dict) else {},
                   config_hash=obj.get("config_hash"), versions=obj.get("versions"),
                   wall_clock_s=obj.get("wall_clock_s"), work_dir=obj.get("work_dir"),
                   per_class=obj.get("per_class"), backbone_contract=obj.get("backbone_contract"),
                   notes=tuple(obj.get("notes") or ()), timing=obj.get("timing"), format=obj["format"])

    @property
    def schedule(self) -> str | None:
        """A detection run's schedule ("1x", "2x", ...); None for other families. Files written
        before schedules existed lack protocol.schedule: their detection runs ran the task
        config's 1x."""
        schedule = self.protocol.get("schedule")
        if isinstance(schedule, str) and schedule:
            return schedule
        return DEFAULT_SCHEDULE if TASK_FAMILIES.get(self.task) in SCHEDULED_FAMILIES else None

    @property
    def iterations(self) -> int | None:
        """The iterations the run trained: protocol.train_iters, or for files written before it
        was recorded, the config's max_iters; None for an epoch-based run."""
        iterations = self.protocol.get("train_iters", self.protocol.get("max_iters"))
        return iterations if isinstance(iterations, int) and not isinstance(iterations, bool) else None


def _raise_if(problems: list[str]) -> None:
    if problems:
        raise ResultsSchemaError("results.json: " + "; ".join(problems))


def _identity_problems(obj) -> list[str]:
    """What names a run and its backbone: the keys every reader needs, in files of every version."""
    if not isinstance(obj, dict):
        return [f"results must be a dict, got {type(obj).__name__}"]
    problems = []
    if obj.get("format") != RESULTS_FORMAT:
        problems.append(f"format is {obj.get('format')!r}, expected {RESULTS_FORMAT!r}")
    for key in ("task", "arm"):
        if not isinstance(obj.get(key), str) or not obj[key]:
            problems.append(f"{key} must be a non-empty string")
    if not isinstance(obj.get("seed"), int) or isinstance(obj.get("seed"), bool):
        problems.append(f"seed must be an int, got {obj.get('seed')!r}")
    pretrain = obj.get("pretrain")
    if not isinstance(pretrain, dict):
        problems.append("pretrain must be a dict (the stage-1 metadata)")
    else:
        if not isinstance(pretrain.get("arch"), str) or not pretrain["arch"]:
            problems.append("pretrain lacks 'arch'")
        cost = pretrain.get("cost")
        if cost is not None and (not _is_number(cost) or not math.isfinite(cost) or cost < 0):
            problems.append(f"pretrain.cost must be a number >= 0, got {cost!r}")
    if not isinstance(obj.get("metrics"), dict):
        problems.append("metrics must be a dict {name: number}")
    return problems


def validate_results(obj) -> None:
    """Raise ResultsSchemaError listing every way `obj` breaks the results.json schema."""
    if not isinstance(obj, dict):
        raise ResultsSchemaError(f"results must be a dict, got {type(obj).__name__}")
    _raise_if([f"missing key {k!r}" for k in REQUIRED_KEYS if k not in obj])
    problems = _identity_problems(obj)
    task = obj["task"]
    if isinstance(task, str) and task and task not in TASK_FAMILIES:
        problems.append(f"task {task!r} is not one of {list(TASK_FAMILIES)}")
    if not isinstance(obj["backbone"], str) or not obj["backbone"]:
        problems.append("backbone must be a checkpoint path or 'none'")

    pretrain = obj["pretrain"]
    if isinstance(pretrain, dict):
        for key in ("arm", "cost"):
            if key not in pretrain:
                problems.append(f"pretrain lacks {key!r}")
        if "cost" in pretrain and pretrain["cost"] is None:
            problems.append("pretrain.cost must be a number >= 0, got None")
        if pretrain.get("arm") != obj["arm"]:
            problems.append(f"arm {obj['arm']!r} differs from pretrain.arm {pretrain.get('arm')!r}")
        if pretrain.get("arm") == RANDOM_INIT and pretrain.get("cost") != 0.0:
            problems.append(f"a {RANDOM_INIT} arm must have pretrain.cost 0.0")
        if (pretrain.get("arm") == RANDOM_INIT) != (obj["backbone"] == "none"):
            problems.append(f"backbone 'none' goes with arm '{RANDOM_INIT}' and only with it")

    metrics = obj["metrics"]
    if isinstance(metrics, dict) and not metrics:
        problems.append("metrics must be a non-empty dict {name: number}")
    elif isinstance(metrics, dict):
        for name, value in metrics.items():
            if not _is_number(value) or not math.isfinite(value):
                problems.append(f"metrics[{name!r}] must be a finite number, got {value!r}")
        if task in TASK_FAMILIES:
            needed = list(FAMILY_METRICS[TASK_FAMILIES[task]])
            lacking = [m for m in needed if m not in metrics]
            if lacking:
                problems.append(f"metrics lack {lacking} (task {task!r} reports {needed})")

    per_class = obj.get("per_class")
    if TASK_FAMILIES.get(task) == "semantic_segmentation" and per_class is None:
        problems.append("per_class (per-class IoU) is required for semantic segmentation")
    if per_class is not None:
        if not isinstance(per_class, dict) or "IoU" not in per_class:
            problems.append("per_class must be {'IoU': {class: value}, ...}")
        else:
            for name, table in per_class.items():
                if not isinstance(table, dict) or not table:
                    problems.append(f"per_class[{name!r}] must be a non-empty dict")
                    continue
                bad = [c for c, v in table.items() if v is not None and not _is_number(v)]
                if bad:
                    problems.append(f"per_class[{name!r}] values must be numbers or null: {bad}")

    protocol = obj["protocol"]
    if not isinstance(protocol, dict):
        problems.append("protocol must be a dict")
    else:
        lacking = [k for k in REQUIRED_PROTOCOL if k not in protocol]
        if lacking:
            problems.append(f"protocol lacks {lacking}")
        if "max_iters" not in protocol and "max_epochs" not in protocol:
            problems.append("protocol needs max_iters or max_epochs")
        if "schedule" in protocol and protocol["schedule"] not in SCHEDULES:
            problems.append(f"protocol.schedule must be one of {list(SCHEDULES)}, got {protocol['schedule']!r}")
        train_iters = protocol.get("train_iters")
        if train_iters is not None and (not isinstance(train_iters, int) or isinstance(train_iters, bool)
                                        or train_iters < 0):
            problems.append(f"protocol.train_iters must be an int >= 0, got {train_iters!r}")

    if not isinstance(obj["config_hash"], str) or not re.fullmatch(r"[0-9a-f]{16}",
                                                                    obj["config_hash"]):
        problems.append(f"config_hash must be 16 hex digits, got {obj['config_hash']!r}")
    versions = obj["versions"]
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        problems.append("versions must be a dict {package: version string}")
    if not _is_number(obj["wall_clock_s"]) or obj["wall_clock_s"] < 0:
        problems.append(f"wall_clock_s must be a number >= 0, got {obj['wall_clock_s']!r}")
    _raise_if(problems)
