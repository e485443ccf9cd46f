"""The demo's generated downstream data: exact geometry, layout, determinism, idempotence, and
that the real mmdet / mmpose / mmseg datasets (and pycocotools) accept it."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from transfer.synthetic import (
    CITYSCAPES_LABEL_IDS,
    COCO_PERSON_CATEGORY,
    IGNORE_INDEX,
    extreme_points,
    make_cityscapes_scenes,
    make_coco_scenes,
    outline_points,
    polygon_area,
    rasterize,
    read_manifest,
    train_ids_to_label_ids,
)

COCO_ARGS = dict(num_train=6, num_val=3, image_size=128, seed=0)
CITYSCAPES_ARGS = dict(num_train=4, num_val=2, size=(256, 128), seed=0)


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    return make_coco_scenes(tmp_path_factory.mktemp("data") / "coco", **COCO_ARGS)


@pytest.fixture(scope="module")
def cityscapes(tmp_path_factory):
    return make_cityscapes_scenes(tmp_path_factory.mktemp("data") / "cityscapes",
                                  **CITYSCAPES_ARGS)


def _files(root) -> dict[str, bytes]:
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# ----------------------------------------------------------------------------- pure geometry

def test_outline_points_walk_the_square_from_vertex_0():
    square = [(0, 0), (4, 0), (4, 4), (0, 4)]
    assert outline_points(square, 8) == [(0, 0), (2, 0), (4, 0), (4, 2), (4, 4), (2, 4),
                                         (0, 4), (0, 2)]
    assert polygon_area(square) == 16
    assert polygon_area([(0, 0), (3, 0), (0, 2)]) == 3


def test_extreme_points_of_an_axis_aligned_square():
    square = [(0, 0), (4, 0), (4, 4), (0, 4)]
    up, right, down, left = extreme_points(square, (0, 90, 180, -90))
    # an edge facing the direction: its middle (the soft weights are symmetric along it), a
    # hair inside (the side edges' first points weigh in a little)
    assert up == pytest.approx((2, 0), abs=0.02) and down == pytest.approx((2, 4), abs=0.02)
    assert right == pytest.approx((4, 2), abs=0.02) and left == pytest.approx((0, 2), abs=0.02)
    (corner,) = extreme_points(square, (45,))  # up-right: the corner, pulled in a little
    assert math.dist(corner, (4, 0)) < 0.3


def test_keypoints_follow_a_horizontal_flip_as_cocos_flip_pairs_say():
    """mmpose's RandomFlip mirrors x and swaps COCO's flip pairs: the labels of the mirrored
    shape must be exactly that, or flipping corrupts the training targets."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    meta = parse_pose_metainfo(dict(from_file="configs/_base_/datasets/coco.py"))
    flip = meta["flip_indices"]
    arrow = [(10, 20), (30, 22), (31, 15), (45, 30), (29, 44), (30, 37), (9, 38)]
    mirrored = [(100 - x, y) for x, y in arrow]
    points, mirrored_points = extreme_points(arrow), extreme_points(mirrored)
    for k, (x, y) in enumerate(points):
        assert mirrored_points[flip[k]] == pytest.approx((100 - x, y), abs=1e-6)


def test_train_ids_map_to_cityscapes_label_ids():
    train_ids = np.array([[0, 1, 8], [18, IGNORE_INDEX, 5]], dtype=np.uint8)
    assert train_ids_to_label_ids(train_ids).tolist() == [[7, 8, 21], [33, 0, 17]]
    assert len(CITYSCAPES_LABEL_IDS) == 19


def test_constants_match_the_real_samples(shared_data):
    with open(shared_data / "coco_sample" / "person_keypoints.json") as f:
        assert json.load(f)["categories"] == [COCO_PERSON_CATEGORY]
    labels = shared_data / "cityscapes_sample" / "gtFine" / "val" / "frankfurt"
    train_ids = np.asarray(Image.open(labels / "frankfurt_000000_000294_gtFine_labelTrainIds.png"))
    label_ids = np.asarray(Image.open(labels / "frankfurt_000000_000294_gtFine_labelIds.png"))
    # The sample's two maps were downscaled separately and disagree on a few edge pixels, so
    # compare each train id's most common label id.
    for train_id in set(np.unique(train_ids)) - {IGNORE_INDEX}:
        counts = np.bincount(label_ids[train_ids == train_id], minlength=256)
        assert CITYSCAPES_LABEL_IDS[train_id] == counts.argmax()


# ----------------------------------------------------------------------------- determinism

def test_same_arguments_give_byte_identical_sets(tmp_path, coco, cityscapes):
    again_coco = make_coco_scenes(tmp_path / "coco", **COCO_ARGS)
    again_cityscapes = make_cityscapes_scenes(tmp_path / "cityscapes", **CITYSCAPES_ARGS)
    assert _files(again_coco["root"]) == _files(coco["root"])
    assert _files(again_cityscapes["root"]) == _files(cityscapes["root"])
    other_seed = make_coco_scenes(tmp_path / "coco_seed1", **dict(COCO_ARGS, seed=1))
    assert _files(other_seed["root"]) != _files(coco["root"])


def test_second_call_does_not_rewrite(tmp_path):
    root = tmp_path / "coco"
    make_coco_scenes(root, num_train=2, num_val=1)
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    make_coco_scenes(root, num_train=2, num_val=1)
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_changed_arguments_or_missing_files_regenerate(tmp_path):
    root = tmp_path / "cityscapes"
    make_cityscapes_scenes(root, num_train=2, num_val=1)
    make_cityscapes_scenes(root, num_train=3, num_val=1)  # manifest differs
    assert read_manifest(root)["args"]["num_train"] == 3
    assert len(list((root / "leftImg8bit" / "train" / "synth").iterdir())) == 3
    victim = next((root / "gtFine" / "val" / "synth").iterdir())
    victim.unlink()  # an incomplete set is rebuilt, not used
    make_cityscapes_scenes(root, num_train=3, num_val=1)
    assert victim.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cityscapes"]  # no temporaries left


def test_denser_cityscapes_scenes_have_more_shape_pixels(tmp_path):
    def shape_fraction(root):
        labels = Path(root["train_labels"]).glob("synth/*_labelTrainIds.png")
        return np.mean([(np.asarray(Image.open(p)) != 0).mean() for p in labels])

    sparse = make_cityscapes_scenes(tmp_path / "sparse", num_train=4, num_val=1)
    dense = make_cityscapes_scenes(tmp_path / "dense", num_train=4, num_val=1, shapes=(6, 12),
                                   radius=(14, 44))
    assert read_manifest(dense["root"])["args"]["shapes"] == [6, 12]
    assert shape_fraction(dense) > 1.5 * shape_fraction(sparse)
    with pytest.raises(ValueError, match="increasing positive ranges"):
        make_cityscapes_scenes(tmp_path / "bad", shapes=(5, 2))


def test_refuses_to_replace_foreign_data(tmp_path):
    (tmp_path / "coco").mkdir()
    (tmp_path / "coco" / "precious.txt").write_text("not ours")
    with pytest.raises(FileExistsError):
        make_coco_scenes(tmp_path / "coco", num_train=1, num_val=1)
    assert (tmp_path / "coco" / "precious.txt").exists()


# ----------------------------------------------------------------------------- COCO

@pytest.mark.parametrize("split", ["train", "val"])
def test_coco_annotations_are_consistent(coco, split):
    with open(coco[f"{split}_annotations"]) as f:
        data = json.load(f)
    assert data["categories"] == [COCO_PERSON_CATEGORY]
    assert len(data["images"]) == COCO_ARGS[f"num_{split}"]
    images = {image["id"]: image for image in data["images"]}
    assert len(images) == len(data["images"])
    assert len({ann["id"] for ann in data["annotations"]}) == len(data["annotations"])
    assert {ann["image_id"] for ann in data["annotations"]} == set(images)  # 1+ objects each
    for image in data["images"]:
        with Image.open(Path(coco[f"{split}_images"]) / image["file_name"]) as png:
            assert png.size == (image["width"], image["height"]) and png.mode == "RGB"
    for ann in data["annotations"]:
        width, height = images[ann["image_id"]]["width"], images[ann["image_id"]]["height"]
        assert ann["category_id"] == 1 and ann["iscrowd"] == 0 and ann["num_keypoints"] == 17
        (flat,) = ann["segmentation"]
        polygon = list(zip(flat[0::2], flat[1::2], strict=True))
        x, y, w, h = ann["bbox"]
        assert 0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= width and y + h <= height
        xs, ys = flat[0::2], flat[1::2]
        assert [x, y, x + w, y + h] == pytest.approx([min(xs), min(ys), max(xs), max(ys)],
                                                     abs=0.02)
        assert ann["area"] == pytest.approx(polygon_area(polygon), abs=0.01)
        perimeter = sum(math.dist(a, b) for a, b in zip(polygon, polygon[1:] + polygon[:1],
                                                          strict=True))
        # pixel-centre sampling is unbiased; its error is a small fraction of the perimeter
        pixels = rasterize(polygon, width, height).sum()
        assert abs(pixels - ann["area"]) <= 0.15 * perimeter + 2
        keypoints = np.asarray(ann["keypoints"], dtype=np.float64).reshape(17, 3)
        assert (keypoints[:, 2] == 2).all()
        assert ((keypoints[:, 0] >= 0) & (keypoints[:, 0] < width)).all()
        assert ((keypoints[:, 1] >= 0) & (keypoints[:, 1] < height)).all()
        # keypoint 0 ("nose") is the topmost extreme point; all lie in the box
        assert keypoints[0, 1] == pytest.approx(min(ys), abs=0.05 * h + 0.02)
        assert (keypoints[:, 0] >= x - 0.01).all() and (keypoints[:, 0] <= x + w + 0.01).all()
        assert (keypoints[:, 1] >= y - 0.01).all() and (keypoints[:, 1] <= y + h + 0.01).all()
        assert keypoints[:, :2].ravel().tolist() == pytest.approx(
            np.ravel(extreme_points(polygon)).tolist(), abs=0.006)


def test_coco_masks_match_the_pixels(coco):
    with open(coco["train_annotations"]) as f:
        data = json.load(f)
    easy_scenes = 0
    for image in data["images"]:
        masks = [rasterize(list(zip(ann["segmentation"][0][0::2], ann["segmentation"][0][1::2],
                                    strict=True)), 128, 128)
                 for ann in data["annotations"] if ann["image_id"] == image["id"]]
        assert (sum(m.astype(int) for m in masks) <= 1).all()  # objects never overlap
        pixels = np.asarray(Image.open(Path(coco["train_images"]) / image["file_name"]))
        background = pixels[~np.logical_or.reduce(masks)]
        if len(np.unique(pixels.reshape(-1, 3), axis=0)) <= len(masks) + 1:  # flat, no noise
            easy_scenes += 1
            assert (background == background[0]).all()
            for mask in masks:
                fill = pixels[mask]
                assert (fill == fill[0]).all() and (fill[0] != background[0]).any()
    assert easy_scenes > 0


def test_rasterize_samples_pixel_centres():
    mask = rasterize([(1, 1), (5, 1), (5, 5), (1, 5)], 8, 8)
    assert mask.sum() == 16 and mask[1:5, 1:5].all()
    assert rasterize([(1.1, 1.1), (1.9, 1.1), (1.9, 1.9), (1.1, 1.9)], 3, 3).tolist() == [
        [False, False, False], [False, True, False], [False, False, False]]


def test_pycocotools_loads_the_annotations(coco):
    pytest.importorskip("pycocotools")
    from pycocotools.coco import COCO

    api = COCO(coco["train_annotations"])
    assert api.getCatIds(catNms=["person"]) == [1]
    assert len(api.getImgIds()) == COCO_ARGS["num_train"]
    for ann in api.loadAnns(api.getAnnIds()):
        mask = api.annToMask(ann)
        assert abs(int(mask.sum()) - ann["area"]) <= 0.05 * ann["area"] + 5


# ----------------------------------------------------------------------------- Cityscapes

@pytest.mark.parametrize("split", ["train", "val"])
def test_cityscapes_pngs(cityscapes, split):
    width, height = CITYSCAPES_ARGS["size"]
    images = sorted(Path(cityscapes[f"{split}_images"]).glob("synth/*_leftImg8bit.png"))
    assert len(images) == CITYSCAPES_ARGS[f"num_{split}"]
    for image in images:
        stem = image.name.removesuffix("_leftImg8bit.png")
        labels = Path(cityscapes[f"{split}_labels"]) / "synth"
        with Image.open(image) as png:
            assert png.size == (width, height) and png.mode == "RGB"
        with Image.open(labels / f"{stem}_gtFine_labelTrainIds.png") as png:
            assert png.mode == "L"
            train_ids = np.asarray(png)
        with Image.open(labels / f"{stem}_gtFine_labelIds.png") as png:
            label_ids = np.asarray(png)
        assert train_ids.shape == (height, width)
        assert set(np.unique(train_ids)) <= set(range(9)) | {IGNORE_INDEX}
        assert (train_ids > 0).any() and (train_ids == 0).any()
        assert (label_ids == np.asarray(CITYSCAPES_LABEL_IDS + (0,) * 237)[train_ids]).all()
        with Image.open(image) as png:
            pixels = np.asarray(png)
        road = pixels[train_ids == 0]
        if len(np.unique(pixels.reshape(-1, 3), axis=0)) <= 8:  # flat, no noise: exact check
            assert (road == road[0]).all()
            assert not (pixels[train_ids > 0] == road[0]).all(axis=-1).any()


# ----------------------------------------------------------------------------- toolboxes

def test_mmdet_coco_dataset_loads_the_scenes(coco):
    datasets = pytest.importorskip("mmdet.datasets")
    from mmcv.transforms import LoadImageFromFile
    from mmdet.datasets.transforms import LoadAnnotations

    with open(coco["train_annotations"]) as f:
        num_objects = len(json.load(f)["annotations"])
    dataset = datasets.CocoDataset(
        ann_file=coco["train_annotations"], data_prefix=dict(img=coco["train_images"] + "/"),
        metainfo=dict(classes=("person",)),
        pipeline=[LoadImageFromFile(), LoadAnnotations(with_bbox=True, with_mask=True)])
    assert len(dataset) == COCO_ARGS["num_train"]
    assert sum(len(dataset.get_data_info(i)["instances"]) for i in range(len(dataset))) \
        == num_objects
    sample = dataset[0]
    assert sample["img"].shape == (128, 128, 3)
    assert len(sample["gt_bboxes"]) == len(sample["gt_masks"]) >= 1


def test_mmpose_coco_dataset_loads_the_scenes(coco):
    datasets = pytest.importorskip("mmpose.datasets")
    with open(coco["val_annotations"]) as f:
        num_objects = len(json.load(f)["annotations"])
    dataset = datasets.CocoDataset(
        ann_file=coco["val_annotations"], data_prefix=dict(img=coco["val_images"] + "/"),
        data_mode="topdown", pipeline=[])
    assert len(dataset) == num_objects  # one top-down sample per object
    info = dataset.get_data_info(0)
    assert info["keypoints"].shape == (1, 17, 2) and info["keypoints_visible"].min() == 1
    assert dataset.metainfo["num_keypoints"] == 17


def test_mmseg_cityscapes_dataset_loads_the_scenes(cityscapes):
    datasets = pytest.importorskip("mmseg.datasets")
    from mmseg.datasets.transforms import LoadAnnotations

    dataset = datasets.CityscapesDataset(
        data_root=cityscapes["root"],
        data_prefix=dict(img_path="leftImg8bit/train", seg_map_path="gtFine/train"),
        pipeline=[LoadAnnotations()])
    assert len(dataset) == CITYSCAPES_ARGS["num_train"]
    seg = dataset[0]["gt_seg_map"]
    assert seg.shape == (128, 256) and set(np.unique(seg)) <= set(range(9))
