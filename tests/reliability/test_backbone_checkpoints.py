"""Item 5 and the backbone files' errors: another architecture's checkpoint is refused unless
--allow-unexpected-keys; a training checkpoint as --backbone points to tools/export.py; a
truncated checkpoint given to tools/export.py is one sentence naming it."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from pretrain.config import load_config
from pretrain.hook import export_checkpoint
from pretrain.trainer import train
from transfer.build import build_run
from transfer.contract import BackboneContractError
from transfer.request import TransferRequest

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
FAST = {"arch": "resnet10", "data.num_train": 32, "data.num_val": 8, "data.image_size": 16, "train.epochs": 1,
        "train.batch_size": 16, "train.milestones": [], "val_interval": 1}


def test_a_deeper_network_given_as_a_shallower_arch_is_refused(tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), path)  # a plain torchvision checkpoint
    with pytest.raises(BackboneContractError, match=r"tensor\(s\) in modules of the backbone that the model does "
                                                    r"not have, e.g. layer1.2.bn1.bias.*--allow-unexpected-keys"):
        build_run(TransferRequest("pspnet_tiny", str(path), arch="resnet18"))
    spec = build_run(TransferRequest("pspnet_tiny", str(path), arch="resnet18", allow_unexpected_keys=True))
    assert "layer3.5.conv2.weight" in spec.contract["unexpected"]


def test_keys_outside_the_backbone_s_modules_are_only_listed(tmp_path):
    state = torchvision.models.resnet18().state_dict()
    state["projector.0.weight"] = torch.zeros(4, 4)  # e.g. a self-supervised head
    path = tmp_path / "r18.pth"
    torch.save(state, path)
    spec = build_run(TransferRequest("pspnet_tiny", str(path), arch="resnet18"))
    assert spec.contract["unexpected"] == ["projector.0.weight"]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("run")
    train(load_config(TINY, FAST), str(work))
    return work


def test_a_training_checkpoint_as_backbone_points_to_the_export_tool(finished_run):
    with pytest.raises(ValueError, match=r"epoch_1.pth is a training checkpoint .* python tools/export.py"):
        build_run(TransferRequest("pspnet_tiny", str(finished_run / "epoch_1.pth"), arch="resnet18"))


@pytest.mark.e2e
def test_a_truncated_checkpoint_given_to_export_is_one_sentence_naming_it(finished_run, tmp_path):
    broken = tmp_path / "epoch_1.pth"
    broken.write_bytes((finished_run / "epoch_1.pth").read_bytes()[:5000])
    with pytest.raises(ValueError, match=rf"cannot read checkpoint {broken}: it is truncated"):
        export_checkpoint(str(broken), str(tmp_path / "out"))
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "export.py"), str(broken)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr  # bad input: exit 2 (common.errors)
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: cannot read checkpoint {broken}")
