"""Issue 22, item 1: no code in a checkpoint ever runs. Every entry point that loads a file the
user supplies (export, pretrain --resume, transfer --resume of a toolbox task and of a
fine-grained task, --backbone, t-SNE, mmengine's own load_checkpoint) is given a checkpoint
whose pickle would write a marker file: each refuses it with an error naming the file, and the
marker never appears. Each poison is first shown to be live (a plain torch.load runs it)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from common.checkpoints import POINTER, UnsafeCheckpoint, safe_load
from pretrain.config import load_config
from pretrain.features import load_feature_network
from pretrain.hook import export_checkpoint
from pretrain.synthetic import write_shapes_folder
from pretrain.trainer import train
from transfer.request import TransferRequest
from transfer.run import run_transfer

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
FAST = {"arch": "resnet10", "data.num_train": 16, "data.num_val": 8, "data.image_size": 16, "train.epochs": 1,
        "train.batch_size": 16, "train.milestones": [1], "val_interval": 1}


class WritesMarker:
    """Unpickling this runs exec(): it writes `marker` (what a hostile checkpoint could do)."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('code ran')",)


def poison(path: Path, content: dict, marker: Path) -> Path:
    """Save `content` plus a code-running entry to `path`; check that an unsafe load runs it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({**content, "payload": WritesMarker(marker)}, path)
    torch.load(path, weights_only=False)  # the poison is live ...
    assert marker.read_text() == "code ran"
    marker.unlink()  # ... and every entry point below must leave no marker
    return path


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "marker"


@pytest.mark.e2e
def test_tools_export_refuses_it_in_one_line(tmp_path, marker):
    ckpt = poison(tmp_path / "epoch_1.pth", {"state_dict": {"net.w": torch.zeros(1)}, "sampling": {}}, marker)
    with pytest.raises(UnsafeCheckpoint, match=f"refused to load {ckpt}: its pickle names builtins.exec"):
        export_checkpoint(str(ckpt), str(tmp_path / "out"))
    done = subprocess.run([sys.executable, str(REPO / "tools" / "export.py"), str(ckpt)], capture_output=True,
                          text=True, cwd=REPO)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: refused to load {ckpt}")  # (after warnings)
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_pretrain_resume_refuses_a_poisoned_checkpoint_in_its_work_dir(tmp_path, marker):
    work = tmp_path / "run"
    train(load_config(TINY, FAST), str(work))
    ckpt = work / "epoch_1.pth"
    poison(ckpt, safe_load(ckpt), marker)  # a real checkpoint, plus the payload
    with pytest.raises(UnsafeCheckpoint, match=f"refused to load {ckpt}"):
        train(load_config(TINY, FAST), str(work), resume=True)
    assert not marker.exists()


@pytest.mark.e2e
def test_transfer_resume_of_a_toolbox_task_refuses_it(tmp_path, marker, shared_data):
    work = tmp_path / "fpn"
    ckpt = poison(work / "iter_2.pth", {"meta": {"epoch": 0, "iter": 2}, "state_dict": {}}, marker)
    (work / POINTER).write_text(str(ckpt))
    with pytest.raises(UnsafeCheckpoint, match=f"refused to load {ckpt}"):
        run_transfer(TransferRequest("fpn_tiny", "none", work_dir=work, resume=True))
    assert not marker.exists() and not (work / "results.json").exists()


def test_fine_grained_resume_refuses_it(tmp_path, marker):
    target = tmp_path / "target"
    write_shapes_folder(target, 8, 4, 32, seed=1, classes=[0, 1])
    work = tmp_path / "fine"
    ckpt = poison(work / "last.pth", {"epoch": 1, "model": {}}, marker)
    with pytest.raises(UnsafeCheckpoint, match=f"refused to load {ckpt}"):
        run_transfer(TransferRequest("finegrained_finetune_tiny", "none", work_dir=work, data_root=target, resume=True,
                                     cfg_options={"train.epochs": 1}))
    assert not marker.exists() and not (work / "results.json").exists()


def test_a_backbone_and_a_t_sne_export_are_refused(tmp_path, marker):
    state = torchvision.models.resnet18().state_dict()
    backbone = poison(tmp_path / "export" / "backbone.pth", state, marker)
    with pytest.raises(ValueError, match=f"refused to load backbone checkpoint {backbone}: .*builtins.exec"):
        run_transfer(TransferRequest("fpn_tiny", str(backbone), arch="resnet18", dry_run=True))
    with pytest.raises(ValueError, match=f"refused to load backbone checkpoint {backbone}"):
        load_feature_network(backbone)  # what tools/tsne.py and the report's figure load
    assert not marker.exists()


def test_mmengine_s_own_loader_is_the_safe_one(tmp_path, marker):
    """load_from, init_cfg=Pretrained and Runner.resume all go through it."""
    from mmengine.runner import load_checkpoint

    ckpt = poison(tmp_path / "weights.pth", {"state_dict": {"weight": torch.zeros(2, 2)}}, marker)
    with pytest.raises(UnsafeCheckpoint, match=f"refused to load {ckpt}"):
        load_checkpoint(torch.nn.Linear(2, 2, bias=False), str(ckpt))
    assert not marker.exists()
    torch.save({"state_dict": {"weight": torch.ones(2, 2)}}, tmp_path / "plain.pth")
    net = torch.nn.Linear(2, 2, bias=False)
    load_checkpoint(net, str(tmp_path / "plain.pth"))  # a plain checkpoint still loads
    assert torch.equal(net.weight.detach(), torch.ones(2, 2))
