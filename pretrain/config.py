"""Loading a pretraining config: an mmengine Python config, at most one level of `_base_`."""

from __future__ import annotations

from pathlib import Path

from mmengine.config import Config


def load_config(path: str, options: dict | None = None) -> Config:
    """Read CONFIG (+ `key.sub=value` overrides) and validate its keys."""
    from pretrain.trainer import check_config

    if not Path(path).is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    check_config(cfg)
    return cfg
