"""Loading a pretraining config: an mmengine Python config, at most one level of `_base_`."""

from __future__ import annotations

import copy
from pathlib import Path

from mmengine.config import Config

from pretrain.methods import build_method

# Every key a pretraining config may set, with its meaning; anything else is an error.
CONFIG_KEYS = {
    "arch": "network name, see pretrain.models.ARCHS",
    "data": "dict(type=synthetic|cifar10|cifar100|imagenet|imagenet_lt, image_size, ...; subset=<subset file "
            "of tools/select_subset.py>; synthetic: render_size, classes, hues, shape_mix)",
    "arm": "dict(name=<method in pretrain/methods/>, <its parameters>), e.g. dict(name='dar', warmup=10)",
    "label": "the arm's name in tables and exports (default: arm.name)",
    "control_of": "the arm this run is an equal-cost control of (set by experiments' `controls`)",
    "train": "dict(epochs, batch_size (global: split over the processes), lr, momentum, weight_decay, "
             "milestones, gamma, workers, ...)",
    "seed": "seed of model init, shuffling and augmentation",
    "deterministic": "torch deterministic algorithms (exact resume on CPU)",
    "augment": "dict(randaugment=None or dict(num_ops=2, magnitude=4), mix=None|'mixup'|'ricap', mix_alpha=0.3): "
               "the budgeted-training augmentations, for any method",
    "val_interval": "evaluate every N epochs (and after the last)",
    "checkpoint_interval": "save a checkpoint every N epochs",
    "max_keep_ckpts": "keep the newest N epoch checkpoints",
    "log_interval": "log every N iterations",
}
TRAIN_KEYS = {"epochs", "batch_size", "lr", "momentum", "weight_decay", "nesterov", "milestones",
              "gamma", "workers", "warmup_epochs", "lr_schedule"}
LR_SCHEDULES = ("step", "linear")  # step: ×gamma at each milestone; linear: decay to 0 at the end
AUGMENT_DEFAULTS = {"randaugment": None, "mix": None, "mix_alpha": 0.3}
RANDAUGMENT_KEYS = {"num_ops", "magnitude"}
MIXES = (None, "mixup", "ricap")


def check_config(cfg: dict) -> None:
    """Reject unknown or missing keys with their names (a typo must not be silently ignored)."""
    unknown = sorted(set(cfg) - set(CONFIG_KEYS) - {"filename", "work_dir", "launcher", "resume"})
    if unknown:
        raise KeyError(f"unknown config key(s) {unknown}; known: {sorted(CONFIG_KEYS)}")
    for key in ("arch", "data", "arm", "train"):
        if key not in cfg:
            raise KeyError(f"config lacks required key '{key}' ({CONFIG_KEYS[key]})")
    unknown = sorted(set(cfg["train"]) - TRAIN_KEYS)
    if unknown:
        raise KeyError(f"unknown key(s) in train: {unknown}; known: {sorted(TRAIN_KEYS)}")
    for key in ("epochs", "batch_size", "lr"):
        if key not in cfg["train"]:
            raise KeyError(f"config lacks train.{key}")
    if cfg["train"].get("lr_schedule", "step") not in LR_SCHEDULES:
        raise ValueError(f"train.lr_schedule must be one of {LR_SCHEDULES}, got {cfg['train']['lr_schedule']!r}")
    augment_settings(cfg)
    if "name" not in cfg["arm"]:
        raise KeyError("config lacks arm.name (the pretraining method)")
    build_method(cfg["arm"], dataset_size=None, epochs=int(cfg["train"]["epochs"]),
                 seed=int(cfg.get("seed", 0)))  # unknown method or parameter: an error naming it


def augment_settings(cfg: dict) -> dict:
    """The config's `augment` dict with its defaults filled in; unknown keys or values are errors."""
    given = dict(cfg.get("augment") or {})
    unknown = sorted(set(given) - set(AUGMENT_DEFAULTS))
    if unknown:
        raise KeyError(f"unknown key(s) in augment: {unknown}; known: {sorted(AUGMENT_DEFAULTS)}")
    settings = {**AUGMENT_DEFAULTS, **given}
    if settings["mix"] not in MIXES:
        raise ValueError(f"augment.mix must be one of {MIXES}, got {settings['mix']!r}")
    if not settings["mix_alpha"] > 0:
        raise ValueError(f"augment.mix_alpha must be > 0, got {settings['mix_alpha']!r}")
    if settings["randaugment"] is not None:
        settings["randaugment"] = dict(settings["randaugment"])
        unknown = sorted(set(settings["randaugment"]) - RANDAUGMENT_KEYS)
        if unknown:
            raise KeyError(f"unknown key(s) in augment.randaugment: {unknown}; known: {sorted(RANDAUGMENT_KEYS)}")
    return settings


def load_config(path: str, options: dict | None = None) -> Config:
    """Read CONFIG (+ `key.sub=value` overrides) and validate its keys."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(copy.deepcopy(options))  # mmengine's merge pops `_delete_` from it
    check_config(cfg)
    return cfg
