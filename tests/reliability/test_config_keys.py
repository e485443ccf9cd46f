"""Item 3: every config key is checked at every depth in both stages; an unknown key (also one
in a section that does not exist) is an error naming it and the closest known key."""

import subprocess
import sys
from pathlib import Path

import pytest

from pretrain.config import load_config
from transfer.build import resolve_task_config

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_dar.py")


@pytest.mark.parametrize(("override", "named", "closest"), [
    ({"data.num_trian": 256}, "data.num_trian", "data.num_train"),
    ({"train.bach_size": 8}, "train.bach_size", "train.batch_size"),
    ({"arm.warmpu": 1}, "arm.warmpu", "arm.warmup"),
    ({"augment": {"randaugment": {"num_op": 2}}}, "augment.randaugment.num_op", "augment.randaugment.num_ops"),
    ({"val_intervall": 2}, "val_intervall", "val_interval"),
])
def test_a_misspelt_pretraining_key_is_named_with_the_closest_known_one(override, named, closest):
    with pytest.raises(KeyError, match=rf"'{named}' \(closest known key: '{closest}'\)"):
        load_config(TINY, override)


def test_a_key_of_another_data_type_is_unknown():
    with pytest.raises(KeyError, match="'data.num_train'"):
        load_config(TINY, {"data.type": "cifar10", "data.root": "data/cifar"})  # num_train is synthetic's


@pytest.mark.parametrize(("override", "message"), [
    ({"train.max_iters": 2}, r"'train.max_iters' names a section that does not exist: .*'train' "
                             r"\(closest known key: 'train_cfg'\)"),
    ({"train_cfg.max_iter": 2}, r"'train_cfg.max_iter' \(closest known key: 'train_cfg.max_iters'\)"),
    ({"model.backbone.depht": 18}, r"'model.backbone.depht' \(closest known key: 'model.backbone.depth'\)"),
    ({"model.decode_head.dropout_rato": 0.1}, r"closest known key: 'model.decode_head.dropout_ratio'"),
    ({"default_hooks.checkpoint.save_lst": True}, r"closest known key: 'default_hooks.checkpoint.save_last'"),
    ({"train_dataloader.dataset.pipeline.99.scale": 1}, r"pipeline is a list of \d+ entries; .99. is not an index"),
])
def test_a_transfer_override_that_points_nowhere_is_an_error(override, message):
    with pytest.raises(KeyError, match=message):
        resolve_task_config("pspnet_tiny", override)


def test_transfer_overrides_that_a_section_takes_are_accepted():
    # existing keys at any depth, and new keys the section's type takes (its __init__ parameters)
    _, cfg = resolve_task_config("pspnet_tiny", {
        "train_cfg.max_iters": 2, "model.backbone.norm_cfg.eps": 1e-3, "optim_wrapper.clip_grad": None,
        "default_hooks.checkpoint.max_keep_ckpts": 1, "train_dataloader.dataset.pipeline.1.reduce_zero_label": True,
        "env_cfg.cudnn_benchmark": False,
        "optim_wrapper.paramwise_cfg.custom_keys.decode_head.lr_mult": 10})  # for the constructor
    assert cfg.model.backbone.norm_cfg.eps == 1e-3 and cfg.train_cfg.max_iters == 2


@pytest.mark.e2e
def test_the_transfer_cli_says_it_in_one_sentence(tmp_path):
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "transfer.py"), "--task", "pspnet_tiny", "--backbone",
                           "none", "--dry-run", "--cfg-options", "train.max_iters=2"],
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "error: --cfg-options of task 'pspnet_tiny' 'train.max_iters'" in proc.stderr
