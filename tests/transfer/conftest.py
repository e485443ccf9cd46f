"""Fixtures for stage-2 tests: stage-1 exports written with common.backbone.

The sample data fixture `shared_data` comes from tests/conftest.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
import torchvision

from common.backbone import IMAGENET_NORMALIZATION, REQUIRED_META, BackboneExport, write_export


def export_meta(arch: str, arm: str = "iid") -> dict:
    """A complete stage-1 metadata dict (every REQUIRED_META key)."""
    meta = {
        "arch": arch, "arm": arm, "arm_params": {}, "dataset": "synthetic", "num_classes": 10,
        "epochs": 1, "seed": 0, "cost": 1.0 if arm == "iid" else 0.6, "forwards": 100,
        "iid_forwards": 100, "wall_clock_s": 1.5, "top1": 12.5, "top5": 55.0,
        "config_hash": "0123456789abcdef", "versions": {"torch": torch.__version__},
        "normalization": IMAGENET_NORMALIZATION,
    }
    assert set(REQUIRED_META) <= set(meta)
    return meta


def make_export(out_dir: Path, arch: str, arm: str = "iid") -> Path:
    torch.manual_seed(0)
    model = getattr(torchvision.models, arch)(num_classes=10)
    write_export(out_dir, model.state_dict(), BackboneExport.from_json(export_meta(arch, arm)))
    return out_dir


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Run the toolboxes on one thread: the 2 cores are shared with other jobs, and two
    OpenMP threads then spin against them (measured: the same tiny run 2x slower)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def export_r18(tmp_path_factory) -> Path:
    """A stage-1 export directory of a (randomly initialised) torchvision resnet18."""
    return make_export(tmp_path_factory.mktemp("export_r18"), "resnet18")


@pytest.fixture(scope="session")
def export_r50(tmp_path_factory) -> Path:
    """A stage-1 export directory of a torchvision resnet50 (paper-scale dry runs)."""
    return make_export(tmp_path_factory.mktemp("export_r50"), "resnet50", arm="dar")


@pytest.fixture(scope="session")
def export_r101(tmp_path_factory) -> Path:
    """A stage-1 export directory of a torchvision resnet101 (the SimpleBaseline dry run)."""
    return make_export(tmp_path_factory.mktemp("export_r101"), "resnet101")


@pytest.fixture
def coco2017_copy(shared_data, tmp_path) -> Path:
    """The COCO sample copied into the COCO 2017 layout (its 4 images as train and as val)."""
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    for split in ("train", "val"):
        shutil.copy(shared_data / "coco_sample" / "person_keypoints.json",
                    root / "annotations" / f"person_keypoints_{split}2017.json")
        shutil.copytree(shared_data / "coco_sample" / "images", root / f"{split}2017")
    return root


@pytest.fixture
def cityscapes_copy(shared_data, tmp_path) -> Path:
    """The Cityscapes sample copied into the standard layout (its frame as train and val)."""
    root = tmp_path / "cityscapes"
    for kind in ("leftImg8bit", "gtFine"):
        for split in ("train", "val"):
            shutil.copytree(shared_data / "cityscapes_sample" / kind / "val", root / kind / split)
    return root


@pytest.fixture(scope="session")
def plain_r18_checkpoint(tmp_path_factory) -> Path:
    """A plain torchvision resnet18 checkpoint (classifier included, no backbone.json)."""
    path = tmp_path_factory.mktemp("plain") / "resnet18_torchvision.pth"
    torch.manual_seed(1)
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return path
