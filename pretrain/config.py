"""Loading a pretraining config: an mmengine Python config, at most one level of `_base_`."""

from __future__ import annotations

from pathlib import Path

from mmengine.config import Config

from pretrain.schedule import arm_params

# Every key a pretraining config may set, with its meaning; anything else is an error.
CONFIG_KEYS = {
    "arch": "network name, see pretrain.models.ARCHS",
    "data": "dict(type=synthetic|cifar10|cifar100|imagenet|imagenet_lt, image_size, ...)",
    "arm": "dict(name=iid|dar|dap|reweight, <DaR params>)",
    "train": "dict(epochs, batch_size, lr, momentum, weight_decay, milestones, gamma, workers, ...)",
    "seed": "seed of model init, shuffling and augmentation",
    "deterministic": "torch deterministic algorithms (exact resume on CPU)",
    "val_interval": "evaluate every N epochs (and after the last)",
    "checkpoint_interval": "save a checkpoint every N epochs",
    "max_keep_ckpts": "keep the newest N epoch checkpoints",
    "log_interval": "log every N iterations",
}
TRAIN_KEYS = {"epochs", "batch_size", "lr", "momentum", "weight_decay", "nesterov", "milestones",
              "gamma", "workers", "warmup_epochs"}


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
    arm_params(cfg["arm"])


def load_config(path: str, options: dict | None = None) -> Config:
    """Read CONFIG (+ `key.sub=value` overrides) and validate its keys."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    check_config(cfg)
    return cfg
