"""Arazo et al.'s RandAugment variant: its ranges at M=4, every op runs, seeded by torch."""

import numpy as np
import pytest
import torch
from PIL import Image

from pretrain.data import build_transform, randaugment_transform
from pretrain.randaugment import OPS, ArazoRandAugment, op_value


def image() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8))


def test_the_code_s_ranges_at_magnitude_4():
    ranges = {name: (low, high) for name, _, low, high in OPS}
    assert len(OPS) == 16
    assert op_value(*ranges["translate_x"], 4) == pytest.approx(13.333, abs=1e-3)  # pixels, not a share
    assert int(op_value(*ranges["posterize"], 4)) == 0  # then max(1, ·): 1 bit kept
    assert op_value(*ranges["solarize"], 4) == pytest.approx(34.133, abs=1e-3)
    assert op_value(*ranges["contrast"], 4) == pytest.approx(0.34)
    assert op_value(*ranges["cutout"], 4) == pytest.approx(5.333, abs=1e-3)


def test_every_op_runs_and_keeps_the_image_size():
    for name, op, low, high in OPS:
        out = op(image(), op_value(low, high, 4))
        assert out.size == (32, 32) and out.mode == "RGB", name


def test_the_draws_follow_torch_s_seed():
    augment = ArazoRandAugment(2, 4)
    torch.manual_seed(5)
    first = np.asarray(augment(image()))
    torch.manual_seed(5)
    assert np.array_equal(first, np.asarray(augment(image())))


def test_the_variant_is_chosen_by_the_config_and_checked():
    assert isinstance(randaugment_transform(dict(num_ops=2, magnitude=4, variant="arazo")), ArazoRandAugment)
    assert type(randaugment_transform(dict(num_ops=2, magnitude=4))).__name__ == "RandAugment"
    with pytest.raises(ValueError, match="variant must be"):
        randaugment_transform(dict(num_ops=2, magnitude=4, variant="autoaugment"))
    transform = build_transform("cifar", True, 32, (0.5,) * 3, (0.25,) * 3,
                                randaugment=dict(num_ops=2, magnitude=4, variant="arazo"))
    assert transform(image()).shape == (3, 32, 32)
