"""Data checks before the Runner: clear errors that name the file."""

from __future__ import annotations

import json
import shutil

import pytest

from transfer.build import build_run
from transfer.data import DataError, check_data
from transfer.request import TransferRequest


@pytest.mark.parametrize("task", ["fpn_tiny", "mask_rcnn_tiny", "pspnet_tiny",
                                  "simplebaseline_tiny"])
def test_sample_data_passes(task, shared_data):
    spec = build_run(TransferRequest(task, "none"))
    check_data(spec.cfg, spec.task.scope)


def test_data_root_reads_the_standard_layout(coco2017_copy, cityscapes_copy):
    spec = build_run(TransferRequest("fpn_tiny", "none", data_root=coco2017_copy))
    train, test = spec.cfg.train_dataloader.dataset, spec.cfg.test_dataloader.dataset
    assert (train.ann_file, train.data_prefix.img) == (
        "annotations/person_keypoints_train2017.json", "train2017/")
    assert (test.ann_file, test.data_prefix.img) == (
        "annotations/person_keypoints_val2017.json", "val2017/")
    assert spec.cfg.test_evaluator.ann_file == (
        f"{coco2017_copy}/annotations/person_keypoints_val2017.json")
    check_data(spec.cfg, spec.task.scope)
    spec = build_run(TransferRequest("pspnet_tiny", "none", data_root=cityscapes_copy))
    assert spec.cfg.train_dataloader.dataset.data_prefix.img_path == "leftImg8bit/train"
    assert spec.cfg.test_dataloader.dataset.data_prefix.seg_map_path == "gtFine/val"
    check_data(spec.cfg, spec.task.scope)


def test_missing_annotation_file_is_named(tmp_path):
    spec = build_run(TransferRequest("fpn", "none", data_root=tmp_path))
    with pytest.raises(DataError, match=f"annotation file not found: {tmp_path}/annotations/"
                                        "instances_train2017.json"):
        check_data(spec.cfg, spec.task.scope)


def test_malformed_json_is_named(coco2017_copy):
    (coco2017_copy / "annotations" / "person_keypoints_train2017.json").write_text('{"images": [')
    spec = build_run(TransferRequest("fpn_tiny", "none", data_root=coco2017_copy))
    with pytest.raises(DataError, match="person_keypoints_train2017.json is not valid JSON"):
        check_data(spec.cfg, spec.task.scope)


def test_annotation_file_without_annotations_is_named(coco2017_copy):
    ann = coco2017_copy / "annotations" / "person_keypoints_train2017.json"
    data = json.loads(ann.read_text())
    del data["annotations"]
    ann.write_text(json.dumps(data))
    spec = build_run(TransferRequest("mask_rcnn_tiny", "none", data_root=coco2017_copy))
    with pytest.raises(DataError,
                       match="person_keypoints_train2017.json has no 'annotations' list"):
        check_data(spec.cfg, spec.task.scope)


def test_annotation_without_bbox_is_named(coco2017_copy):
    ann = coco2017_copy / "annotations" / "person_keypoints_train2017.json"
    data = json.loads(ann.read_text())
    del data["annotations"][2]["bbox"]
    ann.write_text(json.dumps(data))
    spec = build_run(TransferRequest("fpn_tiny", "none", data_root=coco2017_copy))
    with pytest.raises(DataError, match=r"annotations\[2\] needs"):
        check_data(spec.cfg, spec.task.scope)


def test_keypoint_task_needs_keypoints(coco2017_copy):
    ann = coco2017_copy / "annotations" / "person_keypoints_train2017.json"
    data = json.loads(ann.read_text())
    del data["annotations"][0]["keypoints"]
    ann.write_text(json.dumps(data))
    spec = build_run(TransferRequest("simplebaseline_tiny", "none", data_root=coco2017_copy))
    with pytest.raises(DataError, match=r"annotations\[0\] lack 'keypoints'"):
        check_data(spec.cfg, spec.task.scope)


def test_missing_images_are_named(coco2017_copy):
    (coco2017_copy / "train2017" / "000000040083.jpg").unlink()
    spec = build_run(TransferRequest("fpn_tiny", "none", data_root=coco2017_copy))
    with pytest.raises(DataError, match="1 image.*000000040083.jpg"):
        check_data(spec.cfg, spec.task.scope)
    shutil.rmtree(coco2017_copy / "train2017")
    with pytest.raises(DataError, match=f"image directory not found: {coco2017_copy}/train2017"):
        check_data(spec.cfg, spec.task.scope)


def test_missing_cityscapes_labels_are_named(cityscapes_copy):
    root = cityscapes_copy
    spec = build_run(TransferRequest("pspnet_tiny", "none", data_root=root))
    for label in (root / "gtFine").rglob("*_gtFine_labelTrainIds.png"):
        label.unlink()
    with pytest.raises(DataError, match="no \\*_gtFine_labelTrainIds.png file under"):
        check_data(spec.cfg, spec.task.scope)
    shutil.rmtree(root / "leftImg8bit")
    with pytest.raises(DataError, match="img_path directory not found"):
        check_data(spec.cfg, spec.task.scope)


def test_missing_evaluator_annotation_file_is_named(shared_data, tmp_path):
    missing = tmp_path / "instances_val2017.json"
    spec = build_run(TransferRequest("fpn_tiny", "none", cfg_options={"test_evaluator.ann_file": str(missing)}))
    with pytest.raises(DataError, match=f"evaluator CocoMetric: annotation file not found: "
                                        f"{missing}"):
        check_data(spec.cfg, spec.task.scope)
