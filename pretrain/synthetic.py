"""The embedded default data: synthetic shape images the project generates itself.

Deterministic given the seed, small (32x32 by default) and quick to make, so stage 1 runs
on a 2-core CPU in minutes. Each sample draws one of eight filled polygon shapes; the label
is the shape. The mix is controlled so that sampling matters:
  * easy:      a large shape near the centre, strong contrast, flat background;
  * redundant: near-copies (±1 px, same colours) of a few prototypes per class; a sampler
               that drops easy, redundant data should drop most of these first;
  * hard:      a small shape anywhere, weak contrast, a noisy background with clutter lines.
The `kinds` array records which is which, so a run can show what DaR kept.
The polygons and colours (common.shapes) are shared with the transfer demo's scenes, so
that pretraining on them is relevant downstream.

Domain shift (conditional pre-training, pretrain.selection): `classes` draws only some of the
shapes, and `hues` draws the colours of some shapes from a hue range (e.g. the target's shapes
in warm colours); both default to None, which leaves the default set unchanged bit for bit.
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw

from common.shapes import CLASSES, MAX_TILT, contrasting_colour, random_colour, shape_polygon

KINDS = ("easy", "redundant", "hard")
DEFAULT_MIX = (0.5, 0.3, 0.2)  # easy, redundant, hard
PROTOTYPES_PER_CLASS = 4


def _render(size, label, cx, cy, radius, angle, fg, bg, noise=0.0, clutter=0, rng=None) -> np.ndarray:
    image = Image.new("RGB", (size, size), bg)
    draw = ImageDraw.Draw(image)
    for _ in range(clutter):
        x0, y0, x1, y1 = (float(v) for v in rng.uniform(0, size, 4))
        draw.line((x0, y0, x1, y1), fill=random_colour(rng), width=1)
    draw.polygon(shape_polygon(label, cx, cy, radius, angle), fill=fg)
    array = np.asarray(image, dtype=np.float32)
    if noise:
        array = array + rng.normal(0.0, noise, array.shape)
    return np.clip(array, 0, 255).astype(np.uint8)


def _recolour(image: np.ndarray, rng: np.random.Generator, hues: Sequence[float]) -> np.ndarray:
    """Map a rendered image's colours into the hue range: each pixel keeps its brightness
    (so shape, contrast, noise and clutter stay), its hue becomes one of the range's, drawn
    per image for the background-ish (darker) and foreground-ish (lighter) half."""
    gray = image.astype(np.float32).mean(axis=2, keepdims=True) / 255.0
    dark, light = (np.asarray(colorsys.hsv_to_rgb(rng.uniform(hues[0], hues[1]) / 360.0 % 1.0,
                                                  rng.uniform(0.55, 1.0), 1.0), dtype=np.float32)
                   for _ in range(2))
    tint = np.where(gray < np.median(gray), dark, light)
    return np.clip(255.0 * (0.25 * gray + 0.75 * gray * tint), 0, 255).astype(np.uint8)


def make_shapes(num_samples: int, image_size: int = 32, seed: int = 0,
                mix: tuple[float, float, float] = DEFAULT_MIX, classes: Sequence[int] | None = None,
                hues: Mapping[int, Sequence[float]] | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate (images uint8 [N,H,W,3], labels int64 [N], kinds int64 [N]) deterministically.

    `classes`: draw only these shapes (indices into CLASSES; labels stay those indices), balanced.
    `hues`: {shape index: (low, high) hue in degrees}: those shapes are recoloured into the range
    (brightness kept). Without them the set is exactly the default one.
    """
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    rng = np.random.default_rng([seed, 0x5A4E])
    size = image_size
    n_classes = len(CLASSES)
    drawn = np.arange(n_classes) if classes is None else np.asarray(sorted(set(int(c) for c in classes)))
    if drawn.size == 0 or drawn.min() < 0 or drawn.max() >= n_classes:
        raise ValueError(f"classes must be a non-empty subset of 0..{n_classes - 1}, got {classes!r}")
    hues = {int(k): tuple(float(h) for h in v) for k, v in (hues or {}).items()}
    kinds = rng.choice(len(KINDS), size=num_samples, p=np.asarray(mix) / sum(mix))
    labels = drawn[np.arange(num_samples) % drawn.size]  # balanced classes
    rng.shuffle(labels)
    tint_rng = np.random.default_rng([seed, 0x7117])  # its own stream: the shapes stay the default's
    # prototypes for the redundant part: fixed geometry and colours per (class, prototype)
    protos = [
        [dict(cx=size / 2 + rng.uniform(-2, 2), cy=size / 2 + rng.uniform(-2, 2),
              radius=size * rng.uniform(0.3, 0.4), angle=rng.uniform(-MAX_TILT, MAX_TILT),
              bg=(bg := random_colour(rng)), fg=contrasting_colour(rng, bg, 200.0))
         for _ in range(PROTOTYPES_PER_CLASS)]
        for _ in range(n_classes)
    ]
    images = np.empty((num_samples, size, size, 3), dtype=np.uint8)
    for i in range(num_samples):
        label, kind = int(labels[i]), KINDS[kinds[i]]
        if kind == "easy":
            bg = random_colour(rng)
            images[i] = _render(size, label, size / 2 + rng.uniform(-3, 3), size / 2 + rng.uniform(-3, 3),
                                size * rng.uniform(0.28, 0.42), rng.uniform(-MAX_TILT, MAX_TILT),
                                contrasting_colour(rng, bg, 180.0), bg, rng=rng)
        elif kind == "redundant":
            p = protos[label][int(rng.integers(PROTOTYPES_PER_CLASS))]
            images[i] = _render(size, label, p["cx"] + rng.integers(-1, 2), p["cy"] + rng.integers(-1, 2),
                                p["radius"], p["angle"], p["fg"], p["bg"], rng=rng)
        else:  # hard: small, anywhere, weak contrast, noise and clutter
            bg = random_colour(rng, 60, 196)
            fg = tuple(int(np.clip(v + rng.choice([-1, 1]) * rng.uniform(35, 60), 0, 255)) for v in bg)
            radius = size * rng.uniform(0.16, 0.26)
            images[i] = _render(size, label, rng.uniform(radius, size - radius), rng.uniform(radius, size - radius),
                                radius, rng.uniform(-2 * MAX_TILT, 2 * MAX_TILT), fg, bg, noise=18.0,
                                clutter=int(rng.integers(2, 5)), rng=rng)
        if label in hues:
            images[i] = _recolour(images[i], tint_rng, hues[label])
    return images, labels.astype(np.int64), kinds.astype(np.int64)


def write_shapes_folder(root, num_train: int, num_val: int, image_size: int = 32, seed: int = 0,
                        mix: tuple[float, float, float] = DEFAULT_MIX, classes: Sequence[int] | None = None,
                        hues: Mapping[int, Sequence[float]] | None = None) -> dict:
    """Write a shapes set as an ImageFolder target (`root/{train,val}/<shape name>/<i>.png`), the
    layout of Stanford Cars / CUB / fMoW in this suite; idempotent (kept if `root/done.json`
    records the same arguments). Returns {split: number of images}."""
    import json
    import os
    import shutil
    from pathlib import Path

    from common.files import write_json_atomic

    root = Path(root)
    args = {"num_train": num_train, "num_val": num_val, "image_size": image_size, "seed": seed, "mix": list(mix),
            "classes": None if classes is None else sorted(int(c) for c in classes),
            "hues": None if hues is None else {str(k): list(v) for k, v in sorted(hues.items())}}
    marker = root / "done.json"
    if marker.is_file() and json.loads(marker.read_text()) == args:
        return {"train": num_train, "val": num_val}
    staging = root.with_name(f".{root.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for split, count, split_seed in (("train", num_train, seed), ("val", num_val, seed + 1000)):
        images, labels, _ = make_shapes(count, image_size, split_seed, mix, classes, hues)
        for i, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = staging / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{i:05d}.png")
    write_json_atomic(staging / "done.json", args)
    shutil.rmtree(root, ignore_errors=True)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging.rename(root)  # the whole folder appears at once: never a half-written target
    return {"train": num_train, "val": num_val}
