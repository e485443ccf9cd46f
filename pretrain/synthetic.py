"""The embedded default data: synthetic shape images the project generates itself.

Deterministic given the seed, small (32x32 by default) and quick to make, so stage 1 runs
on a 2-core CPU in minutes. Each sample draws one of eight filled polygon shapes; the label
is the shape. The mix is controlled so that sampling matters:
  * easy:      a large shape near the centre, strong contrast, flat background;
  * redundant: near-copies (±1 px, same colours) of a few prototypes per class; a sampler
               that drops easy, redundant data should drop most of these first;
  * hard:      a small shape anywhere, weak contrast, a noisy background with clutter lines.
The `kinds` array records which is which, so a run can show what DaR kept.
The same polygons (`shape_polygon`) are reused by the transfer demo's scenes, so that
pretraining on them is relevant downstream.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ("circle", "triangle", "square", "cross", "star", "hexagon", "arrow", "ell")
KINDS = ("easy", "redundant", "hard")
DEFAULT_MIX = (0.5, 0.3, 0.2)  # easy, redundant, hard
PROTOTYPES_PER_CLASS = 4
# Shapes are tilted by at most this (radians; twice as much for hard samples): a small CNN
# learns upright shapes from a few thousand images in minutes, arbitrary rotations it does not.
MAX_TILT = math.pi / 9

_UNIT = {  # vertices on the unit square [-1, 1]^2, before rotation and scaling
    "circle": [(math.cos(t), math.sin(t)) for t in np.linspace(0, 2 * math.pi, 24, endpoint=False)],
    "triangle": [(math.cos(t), math.sin(t)) for t in np.linspace(-math.pi / 2, 1.5 * math.pi, 3, endpoint=False)],
    "square": [(-0.8, -0.8), (0.8, -0.8), (0.8, 0.8), (-0.8, 0.8)],
    "cross": [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1),
              (-0.3, 1), (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)],
    "star": [((1.0 if i % 2 == 0 else 0.45) * math.cos(t), (1.0 if i % 2 == 0 else 0.45) * math.sin(t))
             for i, t in enumerate(np.linspace(-math.pi / 2, 1.5 * math.pi, 10, endpoint=False))],
    "hexagon": [(math.cos(t), math.sin(t)) for t in np.linspace(0, 2 * math.pi, 6, endpoint=False)],
    "arrow": [(-1, -0.3), (0.2, -0.3), (0.2, -0.8), (1, 0), (0.2, 0.8), (0.2, 0.3), (-1, 0.3)],
    "ell": [(-0.8, -1), (-0.2, -1), (-0.2, 0.4), (0.8, 0.4), (0.8, 1), (-0.8, 1)],
}


def shape_polygon(label: int, cx: float, cy: float, radius: float, angle: float) -> list[tuple[float, float]]:
    """Vertices (x, y) of shape `label` centred at (cx, cy), rotated by `angle` radians."""
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + radius * (c * x - s * y), cy + radius * (s * x + c * y)) for x, y in _UNIT[CLASSES[label]]]


def random_colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    """A uniformly random RGB colour with channels in [low, high)."""
    return tuple(int(v) for v in rng.integers(low, high, size=3))


def contrasting_colour(rng: np.random.Generator, bg, min_dist: float) -> tuple[int, int, int]:
    """A random colour at least `min_dist` (RGB Euclidean) from `bg`; its inverse if none is found."""
    for _ in range(100):
        fg = random_colour(rng)
        if np.linalg.norm(np.subtract(fg, bg)) >= min_dist:
            return fg
    return tuple(255 - v for v in bg)


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
