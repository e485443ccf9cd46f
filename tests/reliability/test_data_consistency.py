"""Item 4: class indices come from the train split (a split with a missing or extra class is an
error), and an unreadable image or label file is a DataError naming it, whichever toolbox
loads it."""

import json
from pathlib import Path

import numpy as np
import pytest
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from PIL import Image

from common.errors import DataError
from pretrain.data import build_datasets
from transfer.data import check_same_categories, name_unreadable_files


def image_folder(root: Path, classes: list[str]) -> None:
    for name in classes:
        (root / name).mkdir(parents=True)
        Image.fromarray(np.full((8, 8, 3), 100, np.uint8)).save(root / name / "0.png")


def test_a_val_split_missing_a_train_class_is_an_error_naming_it(tmp_path):
    image_folder(tmp_path / "train", ["ant", "bee", "cat"])
    image_folder(tmp_path / "val", ["ant", "cat"])  # labels would shift: cat 2 -> 1
    data = {"type": "imagenet", "root": str(tmp_path), "image_size": 8}
    with pytest.raises(DataError, match=r"val does not hold the train split's classes: missing 1 class folder\(s\) "
                                        r"\['bee'\]"):
        build_datasets(data, seed=0)
    image_folder(tmp_path / "val", ["bee", "dog"])
    with pytest.raises(DataError, match=r"1 class folder\(s\) the train split lacks \['dog'\]"):
        build_datasets(data, seed=0)
    (tmp_path / "val" / "dog" / "0.png").unlink()
    (tmp_path / "val" / "dog").rmdir()
    train, val = build_datasets(data, seed=0)
    assert val.classes == train.classes and val[2]["label"] == 2  # cat is 2 in both


def test_coco_splits_must_share_their_categories(tmp_path):
    names = ["person", "car", "dog"]
    check_same_categories({"train": (tmp_path / "a.json", names), "val": (tmp_path / "b.json", names)})
    with pytest.raises(DataError, match=r"val annotation file .*b.json does not have the categories of .*a.json: "
                                        r"missing \['car'\]"):
        check_same_categories({"train": (tmp_path / "a.json", names), "val": (tmp_path / "b.json", ["person", "dog"])})


def test_an_unreadable_pretraining_image_is_a_data_error_naming_it(tmp_path):
    image_folder(tmp_path / "train", ["ant"])
    image_folder(tmp_path / "val", ["ant"])
    (tmp_path / "train" / "ant" / "0.png").write_bytes(b"\x89PNG truncated")
    train, _ = build_datasets({"type": "imagenet", "root": str(tmp_path), "image_size": 8}, seed=0)
    with pytest.raises(DataError, match=r"corrupt or unreadable image: .*train/ant/0.png"):
        train[0]


def truncated_copy(source: Path, target: Path) -> Path:
    target.write_bytes(source.read_bytes()[:300])
    return target


@pytest.mark.parametrize(("scope", "steps", "keys"), [
    ("mmseg", [dict(type="LoadImageFromFile"), dict(type="LoadAnnotations")], ("img_path", "seg_map_path")),
    ("mmdet", [dict(type="LoadImageFromFile")], ("img_path",)),
    ("mmpose", [dict(type="LoadImage")], ("img_path",)),
])
def test_a_truncated_image_or_label_is_a_data_error_naming_it_in_every_toolbox(scope, steps, keys, shared_data,
                                                                                 tmp_path):
    frame = next((shared_data / "cityscapes_sample" / "leftImg8bit").rglob("*.png"))
    label = next((shared_data / "cityscapes_sample" / "gtFine").rglob("*_labelTrainIds.png"))
    jpeg = next((shared_data / "coco_sample" / "images").glob("*.jpg"))
    broken = truncated_copy(label if keys[-1] == "seg_map_path" else jpeg, tmp_path / f"broken{label.suffix}")
    results = {"img_path": str(frame if len(keys) == 2 else broken), "seg_map_path": str(broken),
               "seg_fields": [], "reduce_zero_label": False}
    init_default_scope(scope)
    cfg = {"train_dataloader": {"dataset": {"pipeline": steps}}}
    name_unreadable_files(cfg)
    with pytest.raises(DataError, match=rf"cannot read {broken}"):
        Compose(cfg["train_dataloader"]["dataset"]["pipeline"])(dict(results))
    assert json.dumps(cfg)  # still a plain config (dumped with the run)
