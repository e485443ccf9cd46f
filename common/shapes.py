"""The polygons and colours of the embedded synthetic data, shared by both stages' demo data.

Stage 1's shape images (pretrain.synthetic) and stage 2's demo scenes (transfer.synthetic)
draw the same eight shapes in the same style, so that pretraining on the shapes has something
to transfer. Pure numpy, no I/O.
"""

from __future__ import annotations

import math

import numpy as np

CLASSES = ("circle", "triangle", "square", "cross", "star", "hexagon", "arrow", "ell")
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
