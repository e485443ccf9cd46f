"""The embedded demo's downstream data: tiny COCO-style and Cityscapes-style scene sets.

`make demo` must run on a fresh machine without downloads, so the project generates its own
downstream datasets, as it does for pretraining (`pretrain/synthetic.py`). The scenes reuse the
pretraining shapes (`shape_polygon`) and rendering style (flat or noisy backgrounds, contrasting
fills, clutter lines), so that a backbone pretrained on the shapes has something to transfer.

* `make_coco_scenes`: COCO 2017 layout; every shape is one "person" instance with a box, a
  polygon mask and 17 keypoints (the shape's extreme points in 17 directions, see
  `extreme_points`), so one annotation file serves detection, instance segmentation and
  keypoints, and the transfer configs written for COCO person run unchanged.
* `make_cityscapes_scenes`: Cityscapes layout; the semantic class of a shape pixel is its shape
  (train ids 1..8), everything else is "road" (train id 0).
* `make_voc_scenes`: Pascal VOC layout (VOCdevkit/VOC2007 detection, VOC2012 segmentation) of
  the same kind of scenes, the eight shapes as its classes: the conditional pre-training tasks'.

Both are deterministic (own `np.random.default_rng` streams, PNGs written by PIL) and idempotent:
a complete set carries a `manifest.json` of its arguments, written last; a set is built in a
temporary sibling directory and renamed onto `root`, so a half-written set is never used.
Pure numpy/PIL/json: importable without torch or the OpenMMLab toolboxes.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from common.shapes import CLASSES, MAX_TILT, contrasting_colour, random_colour, shape_polygon

# Bump when the generated files change for the same arguments, so that sets made by an older
# generator are not mistaken for current ones.
FORMAT_VERSION = 3  # 3: extreme-point keypoints (were outline steps), shapes tilted <= 40° (were any angle)
MANIFEST = "manifest.json"

# The person category exactly as in COCO 2017's person_keypoints_*.json (skeleton is 1-based).
COCO_PERSON_CATEGORY = {
    "supercategory": "person",
    "id": 1,
    "name": "person",
    "keypoints": [
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ],
    "skeleton": [
        [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8],
        [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
    ],
}
NUM_KEYPOINTS = len(COCO_PERSON_CATEGORY["keypoints"])
# The direction of each keypoint, in degrees clockwise from "up": the nose points up, COCO's
# k-th left/right pair points k * 360/17 degrees to the image's right/left. A horizontal flip
# maps direction a to -a, i.e. swaps exactly the pairs COCO's flip_indices swap (1<->2, ...,
# 15<->16), so mmpose's RandomFlip keeps every label correct. (The previous layout, "k-th point
# clockwise from the top", became "k-th counter-clockwise" under a flip: RandomFlip corrupted
# half the training labels and SimpleBaseline learned nothing.)
KEYPOINT_DIRECTIONS = (0.0,) + tuple(a for k in range(1, 9) for a in (k * 360 / 17, -k * 360 / 17))
_EXTREME_SOFTNESS = 0.05  # softmax temperature of `extreme_points`, in units of the shape's radius

# Cityscapes: label id of each train id 0..18 (road, sidewalk, building, ..., bicycle).
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)
IGNORE_INDEX = 255  # train id of pixels to ignore; its label id is 0 ("unlabeled")
BACKGROUND_TRAIN_ID = 0  # "road"; shape class k has train id k + 1

# Stream tags for np.random.default_rng([seed, tag, split, index]): one stream per image, so
# an image does not depend on how many images precede it or on the other split's size.
_COCO_STREAM, _CITYSCAPES_STREAM = 0xC0C0, 0xC17E
_SPLITS = ("train", "val")
_HARD_FRACTION = 0.4  # share of scenes with a noisy, cluttered background and weaker contrast
_MAX_TRIES = 40  # placement attempts per shape before giving up on it


# ----------------------------------------------------------------------------- geometry

def polygon_area(polygon: list[tuple[float, float]]) -> float:
    """Area of a simple polygon (shoelace formula)."""
    xs, ys = np.asarray(polygon, dtype=np.float64).T
    return float(abs(np.dot(xs, np.roll(ys, -1)) - np.dot(ys, np.roll(xs, -1))) / 2)


def outline_points(polygon: list[tuple[float, float]], num: int) -> list[tuple[float, float]]:
    """`num` points at equal arc-length steps along the closed outline, starting at vertex 0."""
    vertices = np.asarray(polygon, dtype=np.float64)
    edges = np.roll(vertices, -1, axis=0) - vertices
    lengths = np.hypot(edges[:, 0], edges[:, 1])
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    points = []
    for target in np.arange(num) * lengths.sum() / num:
        edge = int(np.searchsorted(starts, target, side="right") - 1)
        t = (target - starts[edge]) / lengths[edge]
        x, y = vertices[edge] + t * edges[edge]
        points.append((float(x), float(y)))
    return points


def extreme_points(polygon: list[tuple[float, float]],
                   directions=KEYPOINT_DIRECTIONS) -> list[tuple[float, float]]:
    """The shape's (soft) extreme point in each direction (degrees clockwise from up).

    Soft: the softmax-weighted mean of dense outline points by their projection on the
    direction (temperature `_EXTREME_SOFTNESS` x the shape's radius), so that the point moves
    continuously with the shape's rotation: on an edge facing the direction it is the edge's
    middle, at a corner the corner, and between two nearly tied tips it blends them instead of
    jumping. Deterministic in the drawn polygon, so a network can learn it from the pixels.
    """
    outline = np.asarray(outline_points(polygon, 256), dtype=np.float64)
    offsets = outline - outline.mean(axis=0)
    scale = _EXTREME_SOFTNESS * np.hypot(offsets[:, 0], offsets[:, 1]).max()
    points = []
    for degrees in directions:
        a = math.radians(degrees)
        projection = offsets @ np.array([math.sin(a), -math.cos(a)])  # image y points down
        weights = np.exp((projection - projection.max()) / scale)
        x, y = weights @ outline / weights.sum()
        points.append((float(x), float(y)))
    return points


def rasterize(polygon: list[tuple[float, float]], width: int, height: int) -> np.ndarray:
    """Boolean mask of the pixels whose centre lies inside the polygon (even-odd rule).

    Not PIL's polygon fill: that also sets every pixel the outline touches, so its masks are
    about half a pixel fatter all round (+10% area at radius 10) than the annotated polygon.
    """
    centres_x = np.arange(width) + 0.5
    centres_y = np.arange(height) + 0.5
    inside = np.zeros((height, width), dtype=bool)
    vertices = np.asarray(polygon, dtype=np.float64)
    for (x0, y0), (x1, y1) in zip(vertices, np.roll(vertices, -1, axis=0), strict=True):
        if y0 == y1:
            continue  # horizontal edges cross no row of centres
        rows = (centres_y >= min(y0, y1)) & (centres_y < max(y0, y1))
        crossing_x = x0 + (centres_y[rows] - y0) * (x1 - x0) / (y1 - y0)
        inside[rows] ^= centres_x[None, :] < crossing_x[:, None]
    return inside


def _extent(label: int) -> float:
    """Largest vertex distance from the centre of shape `label` at radius 1."""
    return max(math.hypot(x, y) for x, y in shape_polygon(label, 0.0, 0.0, 1.0, 0.0))


_EXTENTS = [_extent(label) for label in range(len(CLASSES))]


def _rounded(polygon) -> list[tuple[float, float]]:
    # Annotations store 2 decimals; drawing the same rounded vertices keeps pixels and
    # annotations describing exactly the same polygon.
    return [(round(float(x), 2), round(float(y), 2)) for x, y in polygon]


def _place_shapes(rng: np.random.Generator, width: int, height: int, count: int,
                  radius_range: tuple[float, float], gap: int) -> tuple[list, list, np.ndarray]:
    """Up to `count` non-overlapping shapes inside the image: (labels, polygons, index map).

    A placement is rejected when its pixels come within `gap` px of an earlier shape, so
    objects never occlude each other and every mask is exactly what was drawn. The index map
    holds 0 for background and i + 1 on the pixels of shape i.
    """
    index_map = np.zeros((height, width), dtype=np.uint8)
    labels, polygons = [], []
    for _ in range(count):
        for _ in range(_MAX_TRIES):
            label = int(rng.integers(len(CLASSES)))
            radius = float(rng.uniform(*radius_range))
            reach = radius * _EXTENTS[label] + 1  # keep every vertex inside the image
            if 2 * reach >= min(width, height):
                continue
            # tilted as much as the pretraining set's hard samples, not at any angle: what the
            # shapes pretraining learned is what the scenes should ask for (an arrow turned 180°
            # is another shape to a CNN that saw ±40° only)
            polygon = _rounded(shape_polygon(label, rng.uniform(reach, width - reach),
                                             rng.uniform(reach, height - reach), radius,
                                             rng.uniform(-2 * MAX_TILT, 2 * MAX_TILT)))
            mask = rasterize(polygon, width, height)
            if not mask.any() or (_dilate(mask, gap) & index_map.astype(bool)).any():
                continue
            index_map[mask] = len(polygons) + 1
            labels.append(label)
            polygons.append(polygon)
            break
    return labels, polygons, index_map


def _dilate(mask: np.ndarray, steps: int) -> np.ndarray:
    out = mask.copy()
    for _ in range(steps):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


# ----------------------------------------------------------------------------- rendering

def _render_scene(rng: np.random.Generator, index_map: np.ndarray) -> np.ndarray:
    """RGB uint8 image of the shapes in `index_map` over an easy or a hard background.

    Easy: flat background, strong contrast. Hard: mid-tone background with clutter lines,
    weaker contrast and pixel noise, as in the pretraining set. Colours are random per shape,
    so only the shape tells the class. Clutter lines are drawn behind the shapes, so the
    masks stay exact.
    """
    height, width = index_map.shape
    hard = rng.random() < _HARD_FRACTION
    bg = random_colour(rng, 60, 196) if hard else random_colour(rng)
    background = Image.new("RGB", (width, height), bg)
    if hard:
        draw = ImageDraw.Draw(background)
        for _ in range(int(rng.integers(2, 6))):
            line = tuple(float(v) for v in rng.uniform(0, 1, 4) * (width, height, width, height))
            draw.line(line, fill=random_colour(rng), width=int(rng.integers(1, 3)))
    num_shapes = int(index_map.max())
    fills = np.array([bg] + [contrasting_colour(rng, bg, 100.0 if hard else 160.0)
                             for _ in range(num_shapes)], dtype=np.float32)
    image = np.where(index_map[..., None] > 0, fills[index_map],
                     np.asarray(background, dtype=np.float32))
    if hard:
        image = image + rng.normal(0.0, 12.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------- COCO

def _coco_annotation(polygon, ann_id: int, image_id: int, width: int, height: int) -> dict:
    xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
    x0, y0 = max(0.0, min(xs)), max(0.0, min(ys))
    x1, y1 = min(float(width), max(xs)), min(float(height), max(ys))
    keypoints = []
    for x, y in extreme_points(polygon):  # inside the box: convex combinations of the outline
        keypoints += [round(x, 2), round(y, 2), 2]  # v=2: labelled and visible
    return {
        "id": ann_id,
        "image_id": image_id,
        "category_id": COCO_PERSON_CATEGORY["id"],
        "bbox": [round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
        "segmentation": [[c for point in polygon for c in point]],
        "area": round(polygon_area(polygon), 2),
        "iscrowd": 0,
        "keypoints": keypoints,
        "num_keypoints": NUM_KEYPOINTS,
    }


def _write_coco(root: Path, num_images: dict[str, int], image_size: int, seed: int) -> dict:
    (root / "annotations").mkdir(parents=True)
    scale = image_size / 128  # shape sizes are specified at 128 px
    image_id = ann_id = 0  # ids are unique across both splits, as in COCO
    counts = {}
    for split_code, split in enumerate(_SPLITS):
        image_dir = root / f"{split}2017"
        image_dir.mkdir()
        images, annotations = [], []
        for i in range(num_images[split]):
            rng = np.random.default_rng([seed, _COCO_STREAM, split_code, i])
            image_id += 1
            _, polygons, index_map = _place_shapes(
                rng, image_size, image_size, count=int(rng.integers(1, 5)),
                radius_range=(10 * scale, 30 * scale), gap=2)
            file_name = f"{image_id:012d}.png"
            Image.fromarray(_render_scene(rng, index_map)).save(image_dir / file_name)
            images.append({"id": image_id, "file_name": file_name,
                           "width": image_size, "height": image_size})
            for polygon in polygons:
                ann_id += 1
                annotations.append(_coco_annotation(polygon, ann_id, image_id,
                                                    image_size, image_size))
        coco = {
            "info": {"description": "transfer-suite synthetic shape scenes (COCO 2017 layout)",
                     "version": str(FORMAT_VERSION)},
            "licenses": [],
            "images": images,
            "annotations": annotations,
            "categories": [COCO_PERSON_CATEGORY],
        }
        with open(root / "annotations" / f"person_keypoints_{split}2017.json", "w") as f:
            json.dump(coco, f)
        counts[split] = {"images": len(images), "annotations": len(annotations)}
    return counts


def coco_paths(root: str | os.PathLike) -> dict[str, str]:
    """The paths of a COCO scene set under `root` (whether or not it exists yet)."""
    root = Path(root).resolve()
    paths = {"root": str(root)}
    for split in _SPLITS:
        paths[f"{split}_images"] = str(root / f"{split}2017")
        paths[f"{split}_annotations"] = str(root / "annotations" /
                                            f"person_keypoints_{split}2017.json")
    return paths


def make_coco_scenes(root: str | os.PathLike, num_train: int = 64, num_val: int = 16,
                     image_size: int = 128, seed: int = 0) -> dict[str, str]:
    """Generate (once) a COCO 2017-layout person set of shape scenes; return its paths."""
    if num_train < 1 or num_val < 1:
        raise ValueError("num_train and num_val must be >= 1")
    if image_size < 64:
        raise ValueError("image_size must be >= 64 (shapes have radius 10-30 px at 128 px)")
    args = {"num_train": num_train, "num_val": num_val, "image_size": image_size, "seed": seed}
    num_images = {"train": num_train, "val": num_val}
    _build_once(Path(root), "coco_scenes", args,
                lambda tmp: _write_coco(tmp, num_images, image_size, seed))
    return coco_paths(root)


# ----------------------------------------------------------------------------- Cityscapes

def train_ids_to_label_ids(train_ids: np.ndarray) -> np.ndarray:
    """Map a Cityscapes train-id map to label ids (255 "ignore" -> 0 "unlabeled")."""
    lut = np.zeros(256, dtype=np.uint8)
    lut[: len(CITYSCAPES_LABEL_IDS)] = CITYSCAPES_LABEL_IDS
    return lut[train_ids]


def _write_cityscapes(root: Path, num_images: dict[str, int], size: tuple[int, int],
                      seed: int, shapes: tuple[int, int], radius: tuple[float, float]) -> dict:
    width, height = size
    scale = height / 128  # shape sizes are specified at 128 px height
    counts = {}
    for split_code, split in enumerate(_SPLITS):
        image_dir = root / "leftImg8bit" / split / "synth"
        label_dir = root / "gtFine" / split / "synth"
        image_dir.mkdir(parents=True)
        label_dir.mkdir(parents=True)
        for i in range(num_images[split]):
            rng = np.random.default_rng([seed, _CITYSCAPES_STREAM, split_code, i])
            labels, _, index_map = _place_shapes(
                rng, width, height, count=int(rng.integers(shapes[0], shapes[1] + 1)),
                radius_range=(radius[0] * scale, radius[1] * scale), gap=1)
            train_id_of_index = np.array([BACKGROUND_TRAIN_ID] + [k + 1 for k in labels],
                                         dtype=np.uint8)
            # No anti-aliasing anywhere, so no pixel is ambiguous and none needs IGNORE_INDEX.
            train_ids = train_id_of_index[index_map]
            stem = f"synth_000000_{i:06d}"
            Image.fromarray(_render_scene(rng, index_map)).save(
                image_dir / f"{stem}_leftImg8bit.png")
            Image.fromarray(train_ids).save(label_dir / f"{stem}_gtFine_labelTrainIds.png")
            Image.fromarray(train_ids_to_label_ids(train_ids)).save(
                label_dir / f"{stem}_gtFine_labelIds.png")
        counts[split] = {"images": num_images[split]}
    return counts


def cityscapes_paths(root: str | os.PathLike) -> dict[str, str]:
    """The paths of a Cityscapes scene set under `root` (whether or not it exists yet)."""
    root = Path(root).resolve()
    paths = {"root": str(root)}
    for split in _SPLITS:
        paths[f"{split}_images"] = str(root / "leftImg8bit" / split)
        paths[f"{split}_labels"] = str(root / "gtFine" / split)
    return paths


def make_cityscapes_scenes(root: str | os.PathLike, num_train: int = 32, num_val: int = 8,
                           size: tuple[int, int] = (256, 128), seed: int = 0,
                           shapes: tuple[int, int] = (3, 7),
                           radius: tuple[float, float] = (8, 40)) -> dict[str, str]:
    """Generate (once) a Cityscapes-layout semantic set of shape scenes; `size` is (w, h),
    `shapes` the range of shapes per image, `radius` their radius range (px at 128 px height)."""
    if num_train < 1 or num_val < 1:
        raise ValueError("num_train and num_val must be >= 1")
    width, height = (int(v) for v in size)
    if min(width, height) < 64:
        raise ValueError("size must be at least 64 x 64")
    shapes, radius = [int(v) for v in shapes], [float(v) for v in radius]
    if not 1 <= shapes[0] <= shapes[1] or not 0 < radius[0] <= radius[1]:
        raise ValueError(f"shapes {shapes} and radius {radius} must be increasing positive ranges")
    args = {"num_train": num_train, "num_val": num_val, "size": [width, height], "seed": seed,
            "shapes": shapes, "radius": radius}
    num_images = {"train": num_train, "val": num_val}
    _build_once(Path(root), "cityscapes_scenes", args,
                lambda tmp: _write_cityscapes(tmp, num_images, (width, height), seed, shapes, radius))
    return cityscapes_paths(root)


# ----------------------------------------------------------------------------- Pascal VOC

VOC_DETECTION_SPLITS = ("trainval", "test")  # VOC2007/ImageSets/Main: the detection protocol's
VOC_SEGMENTATION_SPLITS = ("train", "val")  # VOC2012/ImageSets/Segmentation: the segmentation protocol's
_VOC_STREAM = 0x50C


def voc_palette() -> list[int]:
    """The Pascal VOC colour map (palette of its SegmentationClass PNGs; 255 is the boundary)."""
    palette = []
    for index in range(256):
        r = g = b = 0
        label = index
        for bit in range(8):
            r |= ((label >> 0) & 1) << (7 - bit)
            g |= ((label >> 1) & 1) << (7 - bit)
            b |= ((label >> 2) & 1) << (7 - bit)
            label >>= 3
        palette += [r, g, b]
    return palette


def _voc_xml(file_name: str, width: int, height: int, labels: list[int], polygons: list) -> str:
    """A VOC Annotations XML: one <object> per shape, its box in VOC's 1-based inclusive pixels."""
    objects = []
    for label, polygon in zip(labels, polygons, strict=True):
        xs, ys = [p[0] for p in polygon], [p[1] for p in polygon]
        box = (max(1, math.floor(min(xs)) + 1), max(1, math.floor(min(ys)) + 1),
               min(width, math.ceil(max(xs))), min(height, math.ceil(max(ys))))
        objects.append(
            f"  <object>\n    <name>{CLASSES[label]}</name>\n    <pose>Unspecified</pose>\n"
            f"    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <bndbox>\n"
            f"      <xmin>{box[0]}</xmin>\n      <ymin>{box[1]}</ymin>\n"
            f"      <xmax>{box[2]}</xmax>\n      <ymax>{box[3]}</ymax>\n    </bndbox>\n  </object>\n")
    return (f"<annotation>\n  <folder>VOC</folder>\n  <filename>{file_name}</filename>\n"
            f"  <size>\n    <width>{width}</width>\n    <height>{height}</height>\n    <depth>3</depth>\n"
            f"  </size>\n  <segmented>1</segmented>\n{''.join(objects)}</annotation>\n")


def _write_voc(root: Path, num_images: dict[str, int], image_size: int, seed: int) -> dict:
    """VOC2007 (detection: trainval/test) and VOC2012 (segmentation: train/val) of the same
    scenes: JPEGImages, Annotations XML, SegmentationClass palette PNGs, ImageSets lists."""
    scale = image_size / 128
    palette = voc_palette()
    counts = {}
    for year, splits, list_dir in (("VOC2007", VOC_DETECTION_SPLITS, "Main"),
                                   ("VOC2012", VOC_SEGMENTATION_SPLITS, "Segmentation")):
        base = root / year
        for sub in ("JPEGImages", "Annotations", "SegmentationClass", f"ImageSets/{list_dir}"):
            (base / sub).mkdir(parents=True)
        for split_code, (split, kind) in enumerate(zip(splits, _SPLITS, strict=True)):
            stems = []
            for i in range(num_images[kind]):
                # the same scene for VOC2007's and VOC2012's split of the same kind
                rng = np.random.default_rng([seed, _VOC_STREAM, split_code, i])
                labels, polygons, index_map = _place_shapes(
                    rng, image_size, image_size, count=int(rng.integers(1, 5)),
                    radius_range=(10 * scale, 30 * scale), gap=2)
                stem = f"{split_code}{i:05d}"
                Image.fromarray(_render_scene(rng, index_map)).save(base / "JPEGImages" / f"{stem}.jpg", quality=95)
                (base / "Annotations" / f"{stem}.xml").write_text(
                    _voc_xml(f"{stem}.jpg", image_size, image_size, labels, polygons))
                # class index per pixel: 0 background, shape class k is k + 1 (exact masks, no 255)
                classes = np.array([0] + [k + 1 for k in labels], dtype=np.uint8)[index_map]
                mask = Image.fromarray(classes, mode="P")
                mask.putpalette(palette)
                mask.save(base / "SegmentationClass" / f"{stem}.png")
                stems.append(stem)
            (base / "ImageSets" / list_dir / f"{split}.txt").write_text("".join(f"{s}\n" for s in stems))
            counts[f"{year}/{split}"] = {"images": len(stems)}
    return counts


def voc_paths(root: str | os.PathLike) -> dict[str, str]:
    """The paths of a VOC scene set under `root` (VOCdevkit layout)."""
    root = Path(root).resolve()
    return {"root": str(root), "voc2007": str(root / "VOC2007"), "voc2012": str(root / "VOC2012")}


def make_voc_scenes(root: str | os.PathLike, num_train: int = 64, num_val: int = 16, image_size: int = 128,
                    seed: int = 0) -> dict[str, str]:
    """Generate (once) a Pascal-VOC-layout set of shape scenes (VOCdevkit: VOC2007 detection
    trainval/test, VOC2012 segmentation train/val, the same scenes; classes: the eight shapes,
    segmentation index k + 1 for shape k, 0 background); return its paths."""
    if num_train < 1 or num_val < 1:
        raise ValueError("num_train and num_val must be >= 1")
    if image_size < 64:
        raise ValueError("image_size must be >= 64 (shapes have radius 10-30 px at 128 px)")
    args = {"num_train": num_train, "num_val": num_val, "image_size": image_size, "seed": seed}
    _build_once(Path(root), "voc_scenes", args,
                lambda tmp: _write_voc(tmp, {"train": num_train, "val": num_val}, image_size, seed))
    return voc_paths(root)


# ----------------------------------------------------------------------------- build once

def read_manifest(root: str | os.PathLike) -> dict | None:
    """The manifest of a generated set under `root`, or None if there is none."""
    try:
        with open(Path(root) / MANIFEST) as f:
            return json.load(f)
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _count_files(root: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(root)) - (root / MANIFEST).exists()


def _is_complete(root: Path, kind: str, args: dict) -> bool:
    manifest = read_manifest(root)
    return (manifest is not None and manifest.get("kind") == kind
            and manifest.get("format_version") == FORMAT_VERSION
            and manifest.get("args") == args
            and manifest.get("num_files") == _count_files(root))


def _build_once(root: Path, kind: str, args: dict, write: Callable[[Path], dict]) -> None:
    """Run `write` into a temporary sibling of `root` and rename it onto `root`, unless
    `root` already holds a complete set of this `kind` made with the same `args`."""
    if _is_complete(root, kind, args):
        return
    if root.exists() and any(root.iterdir()) and read_manifest(root) is None:
        # Our sets always carry a manifest (half-written ones never reach `root`), so this is
        # someone else's data: do not delete it.
        raise FileExistsError(f"{root} is not empty and has no {MANIFEST}: not replacing it")
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_sibling(root, "tmp")
    old = None
    try:
        counts = write(tmp)
        manifest = {"kind": kind, "format_version": FORMAT_VERSION, "args": args,
                    "num_files": _count_files(tmp), "counts": counts}
        _write_json_atomic(tmp / MANIFEST, manifest)  # last: marks the set complete
        if root.exists():
            # A directory cannot be renamed onto a non-empty one: move the stale set aside.
            old = _fresh_sibling(root, "old")
            os.replace(root, old)
        os.replace(tmp, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and not root.exists():
            os.replace(old, root)  # put the previous set back rather than lose it
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _fresh_sibling(root: Path, tag: str) -> Path:
    # Not tempfile.mkdtemp: its 0700 mode would end up on the published set.
    path = root.with_name(f".{root.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")
    path.mkdir()
    return path


def _write_json_atomic(path: Path, obj) -> None:
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w") as f:
        json.dump(obj, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(partial, path)
