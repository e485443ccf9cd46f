"""RandAugment as Arazo et al.'s code defines it (EricArazo/ImportanceSampling,
utils_train/randAugm.py, after ildoonet/pytorch-randaugment): `augment.randaugment=dict(
num_ops=2, magnitude=4, variant="arazo")`, the budgeted presets' choice.

It differs from torchvision's RandAugment (variant "torchvision") in its op list and ranges:
16 ops drawn with replacement (torchvision: 14, no Invert, SolarizeAdd or Cutout); the magnitude
m maps linearly onto each op's range as m/30 (torchvision: m/(num_magnitude_bins − 1) = m/30 too,
but over other ranges): at m=4 translate is ±13.3 px whatever the image size (torchvision: 0.45 ×
4/30 of the width), posterize keeps int(4 × 4/30) → at least 1 bit (torchvision: 8 − 4·4/30 → 7
bits), solarize's threshold is 256 × 4/30 ≈ 34 (torchvision: 255 − 34 ≈ 221, i.e. mild),
colour/contrast/brightness/sharpness enhance by the fixed factor 0.1 + 1.8 × 4/30 ≈ 0.34
(torchvision: 1 ± 0.9 × 4/30), and Cutout paints a 5.3 px grey square. Signs of rotate, shear
and translate are random as in both. Randomness comes from torch's generator, which the suite
seeds per sample (pretrain.data), instead of Python's `random` and NumPy's global RNGs.
"""

from __future__ import annotations

import numpy as np
import PIL.ImageDraw
import PIL.ImageEnhance
import PIL.ImageOps
import torch
from PIL import Image

MAX_MAGNITUDE = 30  # the code's m range [0, 30]
CUTOUT_FILL = (125, 123, 114)  # the code's grey


def _signed(v: float) -> float:
    return -v if torch.rand(()).item() > 0.5 else v


def _affine(img: Image.Image, matrix) -> Image.Image:
    return img.transform(img.size, Image.AFFINE, matrix)


def _solarize_add(img: Image.Image, addition: float) -> Image.Image:
    added = np.clip(np.asarray(img).astype(np.int64) + int(addition), 0, 255).astype(np.uint8)
    return PIL.ImageOps.solarize(Image.fromarray(added), 128)


def _cutout(img: Image.Image, size: float) -> Image.Image:
    w, h = img.size
    x0 = int(max(0.0, torch.rand(()).item() * w - size / 2))
    y0 = int(max(0.0, torch.rand(()).item() * h - size / 2))
    img = img.copy()
    PIL.ImageDraw.Draw(img).rectangle((x0, y0, min(w, x0 + size), min(h, y0 + size)), CUTOUT_FILL)
    return img


# (name, op(img, value), low, high): the value is low + (high − low) · m / 30
OPS = (
    ("auto_contrast", lambda img, v: PIL.ImageOps.autocontrast(img), 0, 1),
    ("equalize", lambda img, v: PIL.ImageOps.equalize(img), 0, 1),
    ("invert", lambda img, v: PIL.ImageOps.invert(img), 0, 1),
    ("rotate", lambda img, v: img.rotate(_signed(v)), 0, 30),
    ("posterize", lambda img, v: PIL.ImageOps.posterize(img, max(1, int(v))), 0, 4),
    ("solarize", lambda img, v: PIL.ImageOps.solarize(img, v), 0, 256),
    ("solarize_add", _solarize_add, 0, 110),
    ("color", lambda img, v: PIL.ImageEnhance.Color(img).enhance(v), 0.1, 1.9),
    ("contrast", lambda img, v: PIL.ImageEnhance.Contrast(img).enhance(v), 0.1, 1.9),
    ("brightness", lambda img, v: PIL.ImageEnhance.Brightness(img).enhance(v), 0.1, 1.9),
    ("sharpness", lambda img, v: PIL.ImageEnhance.Sharpness(img).enhance(v), 0.1, 1.9),
    ("shear_x", lambda img, v: _affine(img, (1, _signed(v), 0, 0, 1, 0)), 0.0, 0.3),
    ("shear_y", lambda img, v: _affine(img, (1, 0, 0, _signed(v), 1, 0)), 0.0, 0.3),
    ("cutout", _cutout, 0, 40),
    ("translate_x", lambda img, v: _affine(img, (1, 0, _signed(v), 0, 1, 0)), 0.0, 100),
    ("translate_y", lambda img, v: _affine(img, (1, 0, 0, 0, 1, _signed(v))), 0.0, 100),
)


def op_value(low: float, high: float, magnitude: float) -> float:
    """The value an op applies at `magnitude` (0..30): linear over its range."""
    return low + (high - low) * float(magnitude) / MAX_MAGNITUDE


class ArazoRandAugment(torch.nn.Module):
    """`num_ops` ops drawn uniformly with replacement, each at `magnitude` (PIL in, PIL out)."""

    def __init__(self, num_ops: int = 2, magnitude: int = 4):
        super().__init__()
        if not 0 <= magnitude <= MAX_MAGNITUDE:
            raise ValueError(f"augment.randaugment.magnitude must be in [0, {MAX_MAGNITUDE}], got {magnitude!r}")
        self.num_ops, self.magnitude = int(num_ops), magnitude

    def forward(self, img: Image.Image) -> Image.Image:
        for i in torch.randint(len(OPS), (self.num_ops,)).tolist():
            _, op, low, high = OPS[i]
            img = op(img, op_value(low, high, self.magnitude))
        return img

    def __repr__(self) -> str:
        return f"ArazoRandAugment(num_ops={self.num_ops}, magnitude={self.magnitude})"
