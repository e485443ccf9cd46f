"""Classification datasets for stage 1, with per-sample deterministic augmentation.

Every dataset returns `{"inputs": float tensor CxHxW, "label": int, "index": int}` and is
indexed by `(index, epoch)` pairs (see pretrain.sampler). The augmentation of sample i in
epoch e draws from a generator seeded by (seed, epoch, i): runs are reproducible whatever the
number of workers, and a resumed run sees exactly the crops and flips of an uninterrupted one.

Sources: the embedded synthetic shapes (default), ImageNet-style class folders
(`ROOT/train/<class>/*.JPEG`, `ROOT/val/<class>/*`), CIFAR-10/100 in torchvision's format
under a local root (never downloaded), and ImageNet-LT (its published split lists, lines
`train/n01440764/n01440764_190.JPEG 0`, over an ImageNet root).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torchvision
import torchvision.transforms as T
from PIL import Image, UnidentifiedImageError

from common.errors import DataError, DataFileMissing
from pretrain.config import data_settings
from pretrain.randaugment import ArazoRandAugment
from pretrain.synthetic import make_shapes

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)  # CIFAR-10's training set, per channel
CIFAR_STD = (0.2470, 0.2435, 0.2616)
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)  # CIFAR-100's own (the DaR paper: "channel mean/std")
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
CIFAR_NORMALIZATION = {"cifar10": (CIFAR_MEAN, CIFAR_STD), "cifar100": (CIFAR100_MEAN, CIFAR100_STD)}
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".webp")


def randaugment_transform(randaugment: dict):
    """RandAugment from the config's `augment.randaugment` (variant "torchvision" by default)."""
    options = dict(randaugment)
    variant = options.pop("variant", "torchvision")
    if variant == "arazo":
        return ArazoRandAugment(**options)
    if variant != "torchvision":
        raise ValueError(f"augment.randaugment.variant must be 'torchvision' or 'arazo', got {variant!r}")
    return T.RandAugment(**options)


def build_transform(preset: str, train: bool, image_size: int, mean: Sequence[float], std: Sequence[float],
                    randaugment: dict | None = None, native_size: int | None = None):
    """The paper's recipes: ImageNet random-resized crop (8-100% area, 3/4-4/3) + flip;
    CIFAR-style pad-4 random crop + flip (also used for the synthetic shapes). `randaugment`
    (training only): RandAugment first, as Arazo et al. insert it before the crop and flip
    (their N=2, M=4 is num_ops=2, magnitude=4): torchvision's, or with variant="arazo" their
    code's op list and ranges (pretrain.randaugment).

    Low resolution (conditional pre-training's 112 px): the ImageNet crops are resized
    bilinearly to `image_size` by RandomResizedCrop / Resize themselves; the CIFAR-style crop is
    taken at the images' `native_size` and then resized bilinearly to `image_size`."""
    normalize = [T.ToTensor(), T.Normalize(mean, std)]
    if preset == "cifar" and native_size and native_size != image_size:
        normalize = [T.Resize(image_size, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
                     *normalize]
        image_size = native_size  # the crop's size; the resize above brings it to image_size
    first = [randaugment_transform(randaugment)] if train and randaugment else []
    if preset == "imagenet":
        if train:
            return T.Compose([*first, T.RandomResizedCrop(image_size, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
                              T.RandomHorizontalFlip(), *normalize])
        return T.Compose([T.Resize(int(image_size * 256 / 224)), T.CenterCrop(image_size), *normalize])
    if preset == "cifar":
        if train:
            return T.Compose([*first, T.RandomCrop(image_size, padding=image_size // 8), T.RandomHorizontalFlip(),
                              *normalize])
        return T.Compose(normalize)
    raise ValueError(f"unknown transform preset {preset!r} (imagenet, cifar)")


class ClassificationDataset(torch.utils.data.Dataset):
    """Base: subclasses provide `__len__`, `num_classes`, `targets` and `load(i) -> PIL image`."""

    num_classes: int
    targets: np.ndarray

    def __init__(self, transform, seed: int = 0):
        self.transform = transform
        self.seed = int(seed)

    def load(self, index: int) -> Image.Image:
        raise NotImplementedError

    def __getitem__(self, key):
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        image = self.load(index)
        # fork_rng: torchvision's random transforms draw from the global torch RNG; give
        # them a private, per-(seed, epoch, index) stream and leave the global one untouched.
        # Only the CPU generator: torch.manual_seed would also queue a lazy CUDA/XPU seeding
        # call, recording a stack trace per sample (measured: ~20% of a 32 px epoch's time).
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(
                int(np.random.SeedSequence([self.seed, epoch, index]).generate_state(1)[0]))
            inputs = self.transform(image)
        return {"inputs": inputs, "label": int(self.targets[index]), "index": int(index)}


class SyntheticShapes(ClassificationDataset):
    """The embedded default (pretrain.synthetic): generated in memory, deterministically.
    `shape_options`: make_shapes' domain-shift parameters (classes, hues)."""

    def __init__(self, num_samples: int, image_size: int, transform, data_seed: int = 0, seed: int = 0,
                 **shape_options):
        super().__init__(transform, seed)
        self.images, self.targets, self.kinds = make_shapes(num_samples, image_size, data_seed, **shape_options)
        self.num_classes = int(self.targets.max()) + 1

    def __len__(self):
        return len(self.targets)

    def load(self, index):
        return Image.fromarray(self.images[index])


def _open_rgb(path: str) -> Image.Image:
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except FileNotFoundError:
        raise DataFileMissing(f"image file missing: {path}") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(f"corrupt or unreadable image: {path} ({exc})") from None


class ImageFolder(ClassificationDataset):
    """ImageNet layout: `root/<class>/<image>`; classes sorted by name as in torchvision.

    `classes` (the train split's, for val): labels are their indices, matched by folder name;
    a class folder missing from this split, or one the train split lacks, is an error (labels
    numbered per split would silently shift)."""

    def __init__(self, root: str, transform, seed: int = 0, classes: list[str] | None = None):
        super().__init__(transform, seed)
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"dataset folder not found: {root}")
        found = sorted(d.name for d in os.scandir(root) if d.is_dir())
        if not found:
            raise DataError(f"no class folders in {root} (expected {root}/<class>/<image>)")
        if classes is not None and found != list(classes):
            missing, extra = sorted(set(classes) - set(found)), sorted(set(found) - set(classes))
            raise DataError(
                f"{root} does not hold the train split's classes: "
                + "; ".join(part for part in (
                    f"missing {len(missing)} class folder(s) {missing[:10]}" if missing else "",
                    f"{len(extra)} class folder(s) the train split lacks {extra[:10]}" if extra else "") if part)
                + " (labels come from the train split's folders, matched by name)")
        classes = found
        self.samples: list[str] = []
        targets = []
        for label, name in enumerate(classes):
            files = sorted(e.path for e in os.scandir(root / name)
                           if e.is_file() and e.name.lower().endswith(IMG_EXTENSIONS))
            if not files:
                raise DataError(f"class folder {root / name} holds no images ({', '.join(IMG_EXTENSIONS)})")
            self.samples += files
            targets += [label] * len(files)
        self.classes = classes
        self.targets = np.asarray(targets, dtype=np.int64)
        self.num_classes = len(classes)

    def __len__(self):
        return len(self.samples)

    def load(self, index):
        return _open_rgb(self.samples[index])


# Pascal VOC's training image lists, per year, as a VOCdevkit root holds them (the detection
# protocol's 07+12 trainval when both years are there; the segmentation train list otherwise)
VOC_DETECTION_LISTS = ("VOC2007/ImageSets/Main/trainval.txt", "VOC2012/ImageSets/Main/trainval.txt")
VOC_SEGMENTATION_LIST = "VOC2012/ImageSets/Segmentation/train.txt"
UNLABELLED = "unlabelled"


def is_vocdevkit(root) -> bool:
    """Whether `root` is a VOCdevkit (VOC2007/ or VOC2012/ with ImageSets/), not class folders."""
    return any((Path(root) / year / "ImageSets").is_dir() for year in ("VOC2007", "VOC2012"))


class VOCImages(ClassificationDataset):
    """The training images of a VOCdevkit root, without labels: every list of VOC_DETECTION_LISTS
    present, else VOC_SEGMENTATION_LIST; `<year>/JPEGImages/<id>.jpg`. Conditional pre-training
    selects for Pascal VOC from its images alone (a domain classifier, clusters of their
    features); one class, "unlabelled", every target 0."""

    def __init__(self, root: str, transform, seed: int = 0):
        super().__init__(transform, seed)
        root = Path(root)
        lists = [root / name for name in VOC_DETECTION_LISTS if (root / name).is_file()]
        if not lists and (root / VOC_SEGMENTATION_LIST).is_file():
            lists = [root / VOC_SEGMENTATION_LIST]
        if not lists:
            raise DataError(f"{root} holds none of the VOC training lists "
                            f"({', '.join((*VOC_DETECTION_LISTS, VOC_SEGMENTATION_LIST))})")
        self.samples = []
        for listed in lists:
            images = listed.parents[2] / "JPEGImages"
            for stem in listed.read_text().split():
                path = images / f"{stem}.jpg"
                if not path.is_file():
                    raise DataError(f"{listed} lists {stem}, but {path} does not exist")
                self.samples.append(str(path))
        if not self.samples:
            raise DataError(f"the VOC training lists of {root} are empty: {', '.join(map(str, lists))}")
        self.classes = [UNLABELLED]
        self.targets = np.zeros(len(self.samples), dtype=np.int64)
        self.num_classes = 1

    def __len__(self):
        return len(self.samples)

    def load(self, index):
        return _open_rgb(self.samples[index])


def target_images(root, transform, seed: int = 0) -> ClassificationDataset:
    """A conditional pre-training target's training images: a VOCdevkit's (VOCImages, without
    labels) or class folders (ImageFolder)."""
    return VOCImages(root, transform, seed) if is_vocdevkit(root) else ImageFolder(root, transform, seed)


class ListDataset(ClassificationDataset):
    """A split list (`relative/path label` per line) over a root: ImageNet-LT's format."""

    def __init__(self, root: str, list_file: str, transform, seed: int = 0, num_classes: int | None = None):
        super().__init__(transform, seed)
        if not Path(list_file).is_file():
            raise FileNotFoundError(f"split list not found: {list_file}")
        self.samples, targets = [], []
        for lineno, line in enumerate(Path(list_file).read_text().splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise ValueError(f"{list_file}:{lineno}: expected 'path label', got {line!r}")
            self.samples.append(os.path.join(root, parts[0]))
            targets.append(int(parts[1]))
        if not self.samples:
            raise ValueError(f"split list {list_file} is empty")
        self.targets = np.asarray(targets, dtype=np.int64)
        self.num_classes = num_classes or int(self.targets.max()) + 1

    def __len__(self):
        return len(self.samples)

    def load(self, index):
        return _open_rgb(self.samples[index])


class Cifar(ClassificationDataset):
    """CIFAR-10/100 in torchvision's format under a local root (never downloaded)."""

    def __init__(self, root: str, variant: str, train: bool, transform, seed: int = 0):
        super().__init__(transform, seed)
        cls = {"cifar10": torchvision.datasets.CIFAR10, "cifar100": torchvision.datasets.CIFAR100}[variant]
        try:
            data = cls(root, train=train, download=False)
        except RuntimeError as exc:
            raise FileNotFoundError(f"{variant} not found under {root}: {exc}") from None
        self.images, self.targets = data.data, np.asarray(data.targets, dtype=np.int64)
        self.num_classes = 10 if variant == "cifar10" else 100

    def __len__(self):
        return len(self.targets)

    def load(self, index):
        return Image.fromarray(self.images[index])


class SubsetView(ClassificationDataset):
    """The samples `indices` of `base` (data.subset), renumbered 0..n-1 for the sampler and the
    loss table; augmentation still draws from the base sample's (seed, epoch, index) stream."""

    def __init__(self, base: ClassificationDataset, indices: np.ndarray):
        super().__init__(base.transform, base.seed)
        self.base = base
        self.indices = np.asarray(indices, dtype=np.int64)
        self.targets = base.targets[self.indices]
        self.num_classes = base.num_classes

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, key):
        index, epoch = key if isinstance(key, tuple) else (key, 0)
        item = self.base[(int(self.indices[index]), epoch)]
        return {**item, "index": int(index)}


def shot_groups(train_targets: np.ndarray, num_classes: int) -> np.ndarray:
    """ImageNet-LT's class groups from training counts: 0 many (>100), 1 medium, 2 few (<20)."""
    counts = np.bincount(train_targets, minlength=num_classes)
    return np.where(counts > 100, 0, np.where(counts < 20, 2, 1))


# The resolution a dataset type's i.i.d. recipe trains at: the pixel-weighted cost of a run at
# data.image_size is its cost × (image_size / reference)² (112 px on ImageNet: 1/4).
REFERENCE_SIZES = {"imagenet": 224, "imagenet_lt": 224, "cifar10": 32, "cifar100": 32}


def native_size(data: dict) -> int | None:
    """The size the images exist at before the crop: the shapes' `render_size` (default
    image_size), CIFAR's 32; None for ImageNet-style sets (any size, random-resized crops)."""
    if data["type"] == "synthetic":
        return int(data.get("render_size") or data["image_size"])
    return 32 if data["type"] in ("cifar10", "cifar100") else None


def reference_image_size(data: dict) -> int:
    """The resolution the pixel-weighted cost is relative to (REFERENCE_SIZES; the shapes: their
    render size)."""
    return REFERENCE_SIZES.get(data["type"]) or native_size(data)


def shape_options(data: dict) -> dict:
    """make_shapes' domain-shift parameters from a synthetic `data` dict (classes, hues, and the
    easy/redundant/hard mix as `shape_mix`; none by default)."""
    options = {k: data[k] for k in ("classes", "hues") if data.get(k) is not None}
    if data.get("shape_mix") is not None:
        options["mix"] = tuple(data["shape_mix"])
    return options


def feature_transform(data: dict, size: int, mean=IMAGENET_MEAN, std=IMAGENET_STD):
    """Deterministic eval transform for scoring images (subset selection), the same for the
    source and the target: resize the short side to `size`, centre crop, normalize."""
    return T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
                      T.CenterCrop(size), T.ToTensor(), T.Normalize(mean, std)])


def build_datasets(data: dict, seed: int, randaugment: dict | None = None):
    """(train, val) datasets from a config's `data` dict; see configs/pretrain/*.py.
    `randaugment` adds RandAugment to the training transform (build_transform). `data.subset`
    (a subset file, pretrain.subset) restricts the training set to the samples it lists; the
    full set stays the reference of the cost (`train.source_size`)."""
    data = data_settings(data)
    train, val = _build_full(data, seed, randaugment)
    train.source_size = len(train)
    if data["subset"]:
        from pretrain.subset import subset_indices

        indices, record = subset_indices(data["subset"], train)
        train = SubsetView(train, indices)
        train.source_size, train.subset_record = len(train.base), record
        train.normalization = train.base.normalization
    return train, val


def _build_full(data: dict, seed: int, randaugment: dict | None = None):
    kind = data["type"]
    size = data["image_size"]
    ra = {"randaugment": randaugment, "native_size": native_size(data)}
    if kind == "synthetic":
        # ImageNet's statistics, which every transfer task normalizes with: the same input
        # scale in both stages.
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        render, shapes = native_size(data), shape_options(data)
        train = SyntheticShapes(data["num_train"], render, build_transform("cifar", True, size, mean, std, **ra),
                                data_seed=data["data_seed"], seed=seed, **shapes)
        val = SyntheticShapes(data["num_val"], render,
                              build_transform("cifar", False, size, mean, std, native_size=render),
                              data_seed=data["data_seed"] + 1000, seed=seed, **shapes)
    elif kind in ("cifar10", "cifar100"):
        mean, std = CIFAR_NORMALIZATION[kind]
        train = Cifar(data["root"], kind, True, build_transform("cifar", True, size, mean, std, **ra), seed)
        val = Cifar(data["root"], kind, False, build_transform("cifar", False, size, mean, std, native_size=32),
                    seed)
    elif kind == "imagenet":
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        train = ImageFolder(os.path.join(data["root"], "train"),
                            build_transform("imagenet", True, size, mean, std, randaugment), seed)
        val = ImageFolder(os.path.join(data["root"], "val"),
                          build_transform("imagenet", False, size, mean, std), seed, classes=train.classes)
    elif kind == "imagenet_lt":
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        train = ListDataset(data["root"], data["train_list"],
                            build_transform("imagenet", True, size, mean, std, randaugment), seed, 1000)
        val = ListDataset(data["root"], data["val_list"],
                          build_transform("imagenet", False, size, mean, std), seed, 1000)
        val.shot_groups = shot_groups(train.targets, 1000)
    else:
        raise ValueError(f"unknown data.type {kind!r} (synthetic, cifar10, cifar100, imagenet, imagenet_lt)")
    train.normalization = val.normalization = {"mean": [round(255 * m, 4) for m in mean],
                                               "std": [round(255 * s, 4) for s in std]}
    return train, val
