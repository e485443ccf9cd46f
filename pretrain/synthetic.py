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
"""

from __future__ import annotations

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


def make_shapes(num_samples: int, image_size: int = 32, seed: int = 0,
                mix: tuple[float, float, float] = DEFAULT_MIX) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Generate (images uint8 [N,H,W,3], labels int64 [N], kinds int64 [N]) deterministically."""
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    rng = np.random.default_rng([seed, 0x5A4E])
    size = image_size
    n_classes = len(CLASSES)
    kinds = rng.choice(len(KINDS), size=num_samples, p=np.asarray(mix) / sum(mix))
    labels = np.arange(num_samples) % n_classes  # balanced classes
    rng.shuffle(labels)
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
    return images, labels.astype(np.int64), kinds.astype(np.int64)
