"""Dataset checks run before the Runner starts, and the `--data-root` override.

The toolboxes' own datasets read the data (mmdet/mmpose `CocoDataset`, mmseg
`CityscapesDataset`); these checks only turn a missing file or a malformed annotation file into
one clear error naming the file, instead of a traceback from a dataloader worker minutes in.
Expected layouts (the toolboxes' standard ones, relative to a dataset root):
  COCO 2017    annotations/instances_{train,val}2017.json (detection, instances),
               annotations/person_keypoints_{train,val}2017.json (keypoints),
               {train,val}2017/*.jpg; for the keypoint val set also the person detections
               person_detection_results/COCO_val2017_detections_AP_H_56_person.json
  Pascal VOC   VOCdevkit: VOC2007/{ImageSets/Main/{trainval,test}.txt, Annotations/*.xml,
               JPEGImages/*.jpg} (detection), VOC2012/{ImageSets/Segmentation/{train,val}.txt,
               JPEGImages/*.jpg, SegmentationClass/*.png} (segmentation)
  Cityscapes   leftImg8bit/{train,val}/<city>/*_leftImg8bit.png and
               gtFine/{train,val}/<city>/*_gtFine_labelTrainIds.png (made from the labelIds by
               mmseg's tools/dataset_converters/cityscapes.py)
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

from common.errors import DataError

SPLITS = ("train", "val", "test")


def innermost_dataset(dataset_cfg: dict) -> dict:
    """The dataset config inside wrappers such as RepeatDataset (`dataset=dict(...)`)."""
    while isinstance(dataset_cfg.get("dataset"), dict):
        dataset_cfg = dataset_cfg["dataset"]
    return dataset_cfg


def split_datasets(cfg) -> dict[str, dict]:
    """{split: innermost dataset config} for the config's train/val/test dataloaders."""
    out = {}
    for split in SPLITS:
        loader = cfg.get(f"{split}_dataloader")
        if loader:
            out[split] = innermost_dataset(loader["dataset"])
    return out


def split_evaluators(cfg) -> list[dict]:
    """The metric configs of the val and test evaluators (a dict or a list of dicts each)."""
    out = []
    for split in ("val", "test"):
        evaluator = cfg.get(f"{split}_evaluator")
        if isinstance(evaluator, dict):
            out.append(evaluator)
        elif isinstance(evaluator, list | tuple):
            out.extend(e for e in evaluator if isinstance(e, dict))
    return out


def set_data_root(cfg, data_root: str | os.PathLike) -> None:
    """Point every dataset at `data_root` (a root in the standard layout, see module doc).

    Datasets name their files relative to `data_root`; evaluators (CocoMetric's ann_file) and
    mmpose's `bbox_file` carry full paths built from the old root, which are rebased too.
    A config whose default files do not follow the standard layout (the tiny tasks read the
    shared samples: person_keypoints.json, images/) states the standard one in
    `data_root_layout = dict(train=dict(ann_file=..., data_prefix=...), test=dict(...))`,
    which replaces those dataset keys here; val uses the test entry.
    """
    new_root = str(data_root).rstrip("/") + "/"
    layout = cfg.get("data_root_layout") or {}
    for split, dataset in split_datasets(cfg).items():
        old_root = dataset.get("data_root")
        if old_root:
            if "bbox_file" in dataset:
                dataset["bbox_file"] = _rebase(dataset["bbox_file"], old_root, new_root)
            for evaluator in split_evaluators(cfg):
                if "ann_file" in evaluator:
                    evaluator["ann_file"] = _rebase(evaluator["ann_file"], old_root, new_root)
        split_layout = layout.get(split) or (layout.get("test") if split == "val" else None)
        dataset.update(copy.deepcopy(split_layout or {}))
        dataset["data_root"] = new_root
    test_ann = (layout.get("test") or {}).get("ann_file")
    if test_ann:
        for evaluator in split_evaluators(cfg):
            if "ann_file" in evaluator:
                evaluator["ann_file"] = new_root + test_ann


def _rebase(value, old_root: str, new_root: str):
    if isinstance(value, str) and value.startswith(old_root):
        return new_root + value[len(old_root):].lstrip("/")
    return value


def _resolve(dataset: dict, name: str) -> Path:
    # mmengine's BaseDataset joins a relative path with data_root the same way.
    root = dataset.get("data_root") or ""
    return Path(name) if os.path.isabs(name) or not root else Path(root) / name


def load_coco_json(path: Path, what: str) -> dict:
    """Load a COCO-format annotation file; DataError naming the file if absent or malformed."""
    if not path.is_file():
        raise DataError(f"{what}: annotation file not found: {path}")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{what}: {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise DataError(f"{what}: {path} holds a {type(data).__name__}, not a COCO dict")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(f"{what}: {path} has no '{key}' list (COCO format needs images, "
                            "annotations and categories)")
    for index, image in enumerate(data["images"]):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise DataError(f"{what}: {path}: images[{index}] lacks 'id' or 'file_name'")
    for index, ann in enumerate(data["annotations"]):
        bbox = ann.get("bbox") if isinstance(ann, dict) else None
        if not isinstance(bbox, list) or len(bbox) != 4 or "image_id" not in ann \
                or "category_id" not in ann:
            raise DataError(f"{what}: {path}: annotations[{index}] needs 'image_id', "
                            "'category_id' and a 4-number 'bbox'")
    return data


def check_coco_dataset(split: str, dataset: dict, needs_keypoints: bool) -> list[str]:
    """Annotation file valid, image directory present, every listed image present; returns the
    file's category names."""
    what = f"{split} dataset ({dataset.get('type')})"
    ann_path = _resolve(dataset, dataset.get("ann_file") or "")
    data = load_coco_json(ann_path, what)
    if needs_keypoints:
        bad = [i for i, a in enumerate(data["annotations"]) if "keypoints" not in a]
        if bad:
            raise DataError(f"{what}: {ann_path}: annotations{bad[:5]} lack 'keypoints' (a "
                            "keypoint task needs person_keypoints_*.json)")
    img_dir = _resolve(dataset, (dataset.get("data_prefix") or {}).get("img", ""))
    if not img_dir.is_dir():
        raise DataError(f"{what}: image directory not found: {img_dir} (from {ann_path})")
    missing = [im["file_name"] for im in data["images"]
               if not (img_dir / im["file_name"]).is_file()]
    if missing:
        raise DataError(f"{what}: {len(missing)} image(s) listed in {ann_path} are not in "
                        f"{img_dir}, e.g. {missing[:3]}")
    bbox_file = dataset.get("bbox_file")
    if bbox_file:
        path = _resolve(dataset, bbox_file)
        if not path.is_file():
            raise DataError(f"{what}: person detection file (bbox_file) not found: {path}")
        try:
            detections = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(f"{what}: {path} is not valid JSON: {exc}") from exc
        if not isinstance(detections, list):
            raise DataError(f"{what}: {path} should be a COCO detection result list")
    return [str(c.get("name")) for c in data["categories"] if isinstance(c, dict)]


def check_same_categories(categories: dict[str, tuple[Path, list[str]]]) -> None:
    """Every split's annotation file has the train split's categories. mmdet numbers the labels
    of each file by the config's classes found in *that file*, so a val file lacking one class
    would shift every label after it."""
    if "train" not in categories:
        return
    train_file, train_names = categories["train"]
    for split, (path, names) in categories.items():
        missing, extra = sorted(set(train_names) - set(names)), sorted(set(names) - set(train_names))
        if missing or extra:
            raise DataError(
                f"{split} annotation file {path} does not have the categories of the train split's "
                f"{train_file}: " + "; ".join(part for part in (
                    f"missing {missing[:10]}" if missing else "", f"extra {extra[:10]}" if extra else "") if part))


def check_segmentation_dataset(split: str, dataset: dict) -> None:
    """Image and label directories present and holding files with the expected suffixes."""
    what = f"{split} dataset ({dataset.get('type')})"
    prefix = dataset.get("data_prefix") or {}
    suffixes = {"img_path": dataset.get("img_suffix", "_leftImg8bit.png"),
                "seg_map_path": dataset.get("seg_map_suffix", "_gtFine_labelTrainIds.png")}
    for key, suffix in suffixes.items():
        directory = _resolve(dataset, prefix.get(key, ""))
        if not directory.is_dir():
            raise DataError(f"{what}: {key} directory not found: {directory}")
        if next(directory.rglob(f"*{suffix}"), None) is None:
            raise DataError(f"{what}: no *{suffix} file under {directory}")


VOC_XML_DATASETS = ("VOCDataset", "XMLDataset")  # mmdet's Pascal VOC readers (ImageSets list + XML)


def check_voc_dataset(split: str, dataset: dict) -> None:
    """A Pascal VOC detection split: its ImageSets list, and an Annotations XML and a
    JPEGImages file for every id it lists (mmdet would fail in a worker on the first missing)."""
    what = f"{split} dataset ({dataset.get('type')})"
    list_file = _resolve(dataset, dataset.get("ann_file") or "")
    if not list_file.is_file():
        raise DataError(f"{what}: image list not found: {list_file}")
    ids = [line.strip() for line in list_file.read_text().splitlines() if line.strip()]
    if not ids:
        raise DataError(f"{what}: image list {list_file} is empty")
    sub_root = _resolve(dataset, (dataset.get("data_prefix") or {}).get("sub_data_root", ""))
    for kind, suffix in (("Annotations", ".xml"), ("JPEGImages", ".jpg")):
        missing = [i for i in ids if not (sub_root / kind / f"{i}{suffix}").is_file()]
        if missing:
            raise DataError(f"{what}: {len(missing)} of the {len(ids)} images of {list_file} lack "
                            f"{sub_root / kind}/<id>{suffix}, e.g. {missing[0]}{suffix}")


def check_data(cfg, scope: str) -> None:
    """Check every dataset and evaluator file of `cfg` before the Runner starts.

    Reads each annotation file fully (COCO train: ~20 s); run it on one process per node.
    """
    checked_datasets, checked_files = [], set()  # val and test usually share both
    categories = {}
    for split, dataset in split_datasets(cfg).items():
        if dataset in checked_datasets:
            continue
        if dataset.get("type") in VOC_XML_DATASETS:
            check_voc_dataset(split, dataset)
        elif scope in ("mmdet", "mmpose"):
            ann_file = _resolve(dataset, dataset.get("ann_file") or "")
            categories[split] = (ann_file, check_coco_dataset(split, dataset, needs_keypoints=scope == "mmpose"))
            checked_files.add(ann_file.resolve())
        elif scope == "mmseg":
            check_segmentation_dataset(split, dataset)
        checked_datasets.append(dataset)
    check_same_categories(categories)
    for evaluator in split_evaluators(cfg):
        ann_file = evaluator.get("ann_file")
        if ann_file and Path(ann_file).resolve() not in checked_files:
            load_coco_json(Path(ann_file), f"evaluator {evaluator.get('type')}")
            checked_files.add(Path(ann_file).resolve())


# --- unreadable files while training -------------------------------------------------------


class NameUnreadableFile:
    """Pipeline step wrapping a toolbox's loading transform (LoadImageFromFile, mmseg's
    LoadAnnotations, mmpose's LoadImage, ...): any failure to read becomes a DataError naming
    the file, instead of e.g. `'NoneType' object has no attribute 'squeeze'` from a truncated
    label PNG deep in a dataloader worker. Registered in mmengine's root TRANSFORMS registry,
    so every toolbox scope finds it; the wrapped transform is built in the current scope."""

    def __init__(self, transform: dict):
        from mmengine.registry import TRANSFORMS

        self.transform = TRANSFORMS.build(transform)

    def __call__(self, results: dict):
        try:
            return self.transform(results)
        except Exception as exc:  # whatever the decoder raised: name the file(s) it was reading
            # annotation loaders read the label map (seg_map_path), the others the image
            keys = ("seg_map_path", "img_path") if "Annotation" in type(self.transform).__name__ else ("img_path",)
            path = next((results[key] for key in keys if results.get(key)), "a sample without a file path")
            raise DataError(f"cannot read {path} ({type(self.transform).__name__}: "
                            f"{type(exc).__name__}: {exc})") from exc

    def __repr__(self) -> str:
        return f"NameUnreadableFile({self.transform!r})"


def _register_transform() -> None:
    from mmengine.registry import TRANSFORMS

    TRANSFORMS.register_module(name="NameUnreadableFile", module=NameUnreadableFile, force=True)


def name_unreadable_files(cfg) -> None:
    """Wrap every loading step (`type` Load*) of every dataset pipeline of `cfg` in
    NameUnreadableFile (in place)."""
    _register_transform()
    for dataset in split_datasets(cfg).values():
        pipeline = dataset.get("pipeline") or []
        for index, step in enumerate(pipeline):
            kind = step.get("type") if isinstance(step, dict) else None
            if isinstance(kind, str) and kind.split(".")[-1].startswith("Load"):
                pipeline[index] = dict(type="NameUnreadableFile", transform=step)
