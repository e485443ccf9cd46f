"""Loading a pretraining config: an mmengine Python config, at most one level of `_base_`."""

from __future__ import annotations

import copy
from pathlib import Path

from mmengine.config import Config

from common.keys import check_keys
from common.vocab import BN, NORMS
from pretrain.methods import build_method
from pretrain.moco import SUPERVISED, objective_settings


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED = _Required()  # a key without a default: the config must set it

# Every key a pretraining config may set: (its default, its meaning); anything else is an error.
# resolve_config fills the defaults for the trainer; the config itself, what its hash and the
# saved config are made of, keeps only what it sets (a default added here changes no run's hash).
CONFIG = {
    "arch": (REQUIRED, "network name, see pretrain.models.ARCHS"),
    "norm": (BN, "'bn' (default) or 'gn': GroupNorm of 32 groups in every norm layer (the ResNets); recorded "
                 "in the export, and stage 2 must build the same norm"),
    "data": (REQUIRED, "dict(type=synthetic|cifar10|cifar100|imagenet|imagenet_lt, image_size, ...; subset=<subset "
                       "file of tools/select_subset.py>; synthetic: render_size, classes, hues, shape_mix)"),
    "arm": (REQUIRED, "dict(name=<method in pretrain/methods/>, <its parameters>), e.g. dict(name='dar', warmup=10)"),
    "objective": (SUPERVISED, "'supervised' (default: cross-entropy on the labels) or dict(name='moco_v2', dim=128, "
                              "queue_size=65536, momentum=0.999, temperature=0.2, mlp=True, shuffle_bn=True, "
                              "head_bn=False): MoCo v2 self-supervised (pretrain/moco.py); every arm ranks "
                              "samples by their per-sample training loss"),
    "label": (None, "the arm's name in tables and exports (default, also when empty: arm.name)"),
    "control_of": (None, "the arm this run is an equal-cost control of (set by experiments' `controls`)"),
    "train": (REQUIRED, "dict(epochs, batch_size (global: split over the processes), lr, momentum, weight_decay, "
                        "milestones, gamma, workers, amp (mixed precision: float16 + loss scaling on GPU, bfloat16 "
                        "on CPU), ...): TRAIN below"),
    "seed": (0, "seed of model init, shuffling and augmentation"),
    "replicate": (None, "the experiment's pretraining seed this run replicates (default: seed); set by an "
                        "experiment arm's seed_offset, recorded in the export, and what gather pairs runs of two "
                        "arms by"),
    "deterministic": (False, "torch deterministic algorithms (exact resume on CPU)"),
    "augment": (None, "dict(randaugment=None or dict(num_ops=2, magnitude=4), mix=None|'mixup'|'ricap', "
                      "mix_alpha=0.3): the budgeted-training augmentations, for any method (AUGMENT_DEFAULTS)"),
    "val_interval": (1, "evaluate every N epochs (and after the last)"),
    "checkpoint_interval": (1, "save a checkpoint every N epochs"),
    "max_keep_ckpts": (2, "keep the newest N epoch checkpoints"),
    "log_interval": (50, "log every N iterations"),
}
CONFIG_KEYS = {key: meaning for key, (_, meaning) in CONFIG.items()}
# The keys of `train`, the same way.
TRAIN = {
    "epochs": (REQUIRED, "epochs of the configured schedule (a budgeted method trains fewer)"),
    "batch_size": (REQUIRED, "the global batch, split evenly over the processes"),
    "lr": (REQUIRED, "SGD learning rate at that batch"),
    "momentum": (0.9, "SGD momentum"),
    "weight_decay": (1e-4, "SGD weight decay"),
    "nesterov": (False, "Nesterov momentum"),
    "milestones": ((), "epochs at which a step schedule multiplies the lr by gamma"),
    "gamma": (0.1, "the step schedule's factor"),
    "workers": (0, "data loader worker processes"),
    "warmup_epochs": (0, "linear warm-up from 0.1x the lr over this many epochs"),
    "lr_schedule": ("step", "step, linear or cosine (LR_SCHEDULES)"),
    "amp": (False, "mixed precision (common.amp)"),
}
TRAIN_KEYS = set(TRAIN)
# step: ×gamma at each milestone; linear: decay to 0 at the end; cosine: half a cosine to 0 (MoCo v2's --cos)
LR_SCHEDULES = ("step", "linear", "cosine")
# The keys of `data` per data.type (pretrain.data.build_datasets reads exactly these).
# Every type also takes `subset` (a tools/select_subset.py file: conditional pre-training).
DATA_KEYS = {
    "synthetic": {"type", "image_size", "num_train", "num_val", "data_seed", "render_size", "shape_mix", "classes",
                  "hues", "subset"},
    "cifar10": {"type", "image_size", "root", "subset"},
    "cifar100": {"type", "image_size", "root", "subset"},
    "imagenet": {"type", "image_size", "root", "subset"},
    "imagenet_lt": {"type", "image_size", "root", "train_list", "val_list", "subset"},
}
# The optional keys of `data` (those its data.type takes), with their defaults; None: unset
# (render_size: image_size; shape_mix, classes, hues: make_shapes' own; subset: the whole set).
DATA_DEFAULTS = {"data_seed": 0, "render_size": None, "shape_mix": None, "classes": None, "hues": None,
                 "subset": None}
OPTIONAL_DATA_KEYS = set(DATA_DEFAULTS)
AUGMENT_DEFAULTS = {"randaugment": None, "mix": None, "mix_alpha": 0.3}
RANDAUGMENT_KEYS = {"num_ops", "magnitude", "variant"}  # variant: "torchvision" or "arazo"
MIXES = (None, "mixup", "ricap")


def check_config(cfg: dict) -> None:
    """Reject unknown or missing keys with their names (a typo must not be silently ignored)."""
    check_keys(set(cfg) - {"filename", "work_dir", "launcher", "resume"}, CONFIG_KEYS)
    for key in (k for k, (default, _) in CONFIG.items() if default is REQUIRED):
        if key not in cfg:
            raise KeyError(f"config lacks required key '{key}' ({CONFIG_KEYS[key]})")
    if cfg.get("norm", CONFIG["norm"][0]) not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {cfg['norm']!r}")
    for section in ("data", "train", "arm"):
        if not isinstance(cfg[section], dict):
            raise TypeError(f"config key '{section}' must be a dict, got {cfg[section]!r}")
    check_data_keys(cfg["data"])
    check_keys(cfg["train"], TRAIN_KEYS, "train")
    for key, (default, _) in TRAIN.items():
        if default is REQUIRED and key not in cfg["train"]:
            raise KeyError(f"config lacks train.{key}")
    if train_settings(cfg["train"])["lr_schedule"] not in LR_SCHEDULES:
        raise ValueError(f"train.lr_schedule must be one of {LR_SCHEDULES}, got {cfg['train']['lr_schedule']!r}")
    augment = augment_settings(cfg)
    if objective_settings(cfg)["name"] != SUPERVISED and (augment["mix"] or augment["randaugment"]):
        raise ValueError("augment.mix and augment.randaugment are for the supervised objective; objective "
                         f"{objective_settings(cfg)['name']} has its own augmentation (pretrain/moco.py)")
    if "name" not in cfg["arm"]:
        raise KeyError("config lacks arm.name (the pretraining method)")
    build_method(cfg["arm"], dataset_size=None, epochs=int(cfg["train"]["epochs"]),
                 seed=int(cfg.get("seed", CONFIG["seed"][0])))  # unknown method or parameter: an error naming it


def train_settings(train: dict) -> dict:
    """`train` with every default of TRAIN filled in (milestones as a list)."""
    settings = {**{key: default for key, (default, _) in TRAIN.items() if default is not REQUIRED}, **train}
    settings["milestones"] = list(settings["milestones"])
    return settings


def resolve_config(cfg: dict) -> dict:
    """Every value a pretraining run uses, the defaults of CONFIG, TRAIN and DATA_DEFAULTS filled
    in, `augment` and `objective` as full dicts, `label` and `replicate` derived when unset: what
    the trainer reads. A plain dict apart from the config, whose hash covers only what it sets."""
    settings = {key: cfg[key] if default is REQUIRED else cfg.get(key, default) for key, (default, _) in CONFIG.items()}
    settings["data"] = data_settings(cfg["data"])
    settings["train"] = train_settings(cfg["train"])
    settings["augment"] = augment_settings(cfg)
    settings["objective"] = objective_settings(cfg)
    settings["label"] = cfg.get("label") or cfg["arm"]["name"]
    if settings["replicate"] is None:
        settings["replicate"] = settings["seed"]
    return settings


def check_data_keys(data: dict) -> None:
    """`data` holds exactly the keys its data.type reads (a misspelt one is an error naming it)."""
    kind = data.get("type")
    if kind not in DATA_KEYS:
        raise ValueError(f"unknown data.type {kind!r}; known: {sorted(DATA_KEYS)}")
    check_keys(data, DATA_KEYS[kind], "data")
    missing = sorted(DATA_KEYS[kind] - set(data) - OPTIONAL_DATA_KEYS)
    if missing:
        raise KeyError(f"config lacks data.{missing[0]} (data.type {kind!r} needs {sorted(DATA_KEYS[kind])})")


def data_settings(data: dict) -> dict:
    """`data` with the defaults of the optional keys its data.type takes (DATA_DEFAULTS)."""
    taken = DATA_KEYS.get(data.get("type"), ())
    return {**{key: default for key, default in DATA_DEFAULTS.items() if key in taken}, **data}


def augment_settings(cfg: dict) -> dict:
    """The config's `augment` dict with its defaults filled in; unknown keys or values are errors."""
    given = dict(cfg.get("augment") or {})
    check_keys(given, AUGMENT_DEFAULTS, "augment")
    settings = {**AUGMENT_DEFAULTS, **given}
    if settings["mix"] not in MIXES:
        raise ValueError(f"augment.mix must be one of {MIXES}, got {settings['mix']!r}")
    if not settings["mix_alpha"] > 0:
        raise ValueError(f"augment.mix_alpha must be > 0, got {settings['mix_alpha']!r}")
    if settings["randaugment"] is not None:
        settings["randaugment"] = dict(settings["randaugment"])
        check_keys(settings["randaugment"], RANDAUGMENT_KEYS, "augment.randaugment")
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
