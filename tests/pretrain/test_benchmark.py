"""pretrain.benchmark's arithmetic: the fixed cost of an epoch, whatever its size."""

import pytest

from pretrain.benchmark import fixed_per_epoch


def test_the_fixed_cost_per_epoch_is_the_intercept_of_time_against_images():
    images = [1024, 1024, 512, 256, 256, 1024, 512]
    seconds = [0.3 + 0.005 * n for n in images]  # 0.3 s per epoch whatever its size
    assert fixed_per_epoch(seconds, images) == pytest.approx(0.3)
    assert fixed_per_epoch([1.0, 1.1], [1024, 1024]) is None  # one size: nothing to separate it from
