"""The Pascal VOC tasks of conditional pre-training: generated VOC-format scenes, Faster R-CNN
R50-C4 (res5 from the export's layer4) and PSANet through the real mmdet/mmseg, VOC metrics."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from common.results import validate_results
from common.shapes import CLASSES
from common.vocab import RESULTS_FILE
from transfer.data import DataError
from transfer.request import TransferRequest
from transfer.run import run_transfer
from transfer.synthetic import make_voc_scenes


@pytest.fixture(scope="module")
def voc_scenes(tmp_path_factory) -> Path:
    return Path(make_voc_scenes(tmp_path_factory.mktemp("data") / "voc", num_train=12, num_val=6)["root"])


def test_voc_scenes_have_the_vocdevkit_layout(voc_scenes):
    main = voc_scenes / "VOC2007" / "ImageSets" / "Main"
    trainval, test = (main / "trainval.txt").read_text().split(), (main / "test.txt").read_text().split()
    assert len(trainval) == 12 and len(test) == 6 and not set(trainval) & set(test)
    seg = voc_scenes / "VOC2012" / "ImageSets" / "Segmentation"
    assert (seg / "train.txt").read_text().split() == trainval  # the same scenes in both years
    for stem in trainval[:3]:
        root = ET.parse(voc_scenes / "VOC2007" / "Annotations" / f"{stem}.xml").getroot()
        boxes = [[int(o.find("bndbox").find(k).text) for k in ("xmin", "ymin", "xmax", "ymax")]
                 for o in root.iter("object")]
        names = [o.find("name").text for o in root.iter("object")]
        mask = np.array(Image.open(voc_scenes / "VOC2012" / "SegmentationClass" / f"{stem}.png"))
        assert Image.open(voc_scenes / "VOC2012" / "SegmentationClass" / f"{stem}.png").mode == "P"
        assert 1 <= len(boxes) <= 4 and set(names) <= set(CLASSES)
        # every box holds its shape's pixels, labelled with its class (index = class + 1)
        for (x0, y0, x1, y1), name in zip(boxes, names, strict=True):
            assert 1 <= x0 < x1 <= 128 and 1 <= y0 < y1 <= 128
            assert (mask[y0 - 1:y1, x0 - 1:x1] == CLASSES.index(name) + 1).any()
        assert set(np.unique(mask)) <= {0, *(CLASSES.index(n) + 1 for n in names)}


@pytest.mark.e2e
def test_c4_dry_run_loads_res5_from_the_export_s_layer4(export_r18, export_r50, voc_scenes):
    tiny = run_transfer(TransferRequest("faster_rcnn_c4_voc_tiny", export_r18, data_root=voc_scenes, dry_run=True))
    # all 100 tensors of the ResNet-18 export: conv1..layer3 into the backbone, layer4 into res5
    assert tiny["backbone_tensors_verified"] == 100 and tiny["unexpected_checkpoint_keys"] == []
    paper = run_transfer(TransferRequest("faster_rcnn_c4_voc", export_r50, dry_run=True))
    assert paper["backbone_tensors_verified"] == 265 and paper["unexpected_checkpoint_keys"] == []
    scratch = run_transfer(TransferRequest("faster_rcnn_c4_voc", "none", dry_run=True))
    assert scratch["backbone_tensors_verified"] == 0


def test_psanet_paper_scale_dry_run(export_r50):
    summary = run_transfer(TransferRequest("psanet_voc", export_r50, dry_run=True))
    assert summary["model"] == "EncoderDecoder" and summary["backbone_tensors_verified"] == 265


def test_a_missing_annotation_is_named_before_the_runner(export_r18, voc_scenes, tmp_path):
    import shutil

    broken = tmp_path / "voc"
    shutil.copytree(voc_scenes, broken)
    stem = (broken / "VOC2007" / "ImageSets" / "Main" / "test.txt").read_text().split()[0]
    (broken / "VOC2007" / "Annotations" / f"{stem}.xml").unlink()
    with pytest.raises(DataError, match=f"lack .*Annotations/<id>.xml, e.g. {stem}.xml"):
        run_transfer(TransferRequest("faster_rcnn_c4_voc_tiny", export_r18, data_root=broken,
                                     work_dir=tmp_path / "run"))


@pytest.mark.e2e
@pytest.mark.parametrize("task", ["faster_rcnn_c4_voc_tiny", "psanet_voc_tiny"])
def test_tiny_voc_task_trains_and_writes_the_voc_metrics(task, export_r18, voc_scenes, tmp_path):
    torch.set_num_threads(1)
    returned = run_transfer(TransferRequest(task, export_r18, data_root=voc_scenes, work_dir=tmp_path / task))
    results = json.loads((tmp_path / task / RESULTS_FILE).read_text())
    validate_results(results)
    assert results == json.loads(json.dumps(returned))
    assert results["backbone_contract"] == {"tensors_loaded": 100, "unexpected_keys": []}
    metrics = results["metrics"]
    if task == "psanet_voc_tiny":
        assert set(metrics) == {"aAcc", "mIoU", "mAcc"} and all(0 <= v <= 100 for v in metrics.values())
        # shape k is VOC label k in the PNGs, named as VOC's k-th class (the config says why)
        assert list(results["per_class"]["IoU"]) == ["background", "aeroplane", "bicycle", "bird", "boat", "bottle",
                                                     "bus", "car", "cat"]
    else:
        assert {"pascal_voc/mAP", "pascal_voc/AP50", "pascal_voc/AP75"} <= set(metrics)
        assert all(0 <= metrics[k] <= 1 for k in ("pascal_voc/mAP", "pascal_voc/AP50", "pascal_voc/AP75"))
        assert metrics["pascal_voc/AP50"] >= metrics["pascal_voc/AP75"]
    assert results["protocol"]["max_iters"] == 8
