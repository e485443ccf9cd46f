"""transfer.roi_align: the matrix-product RoIAlign computes mmcv's RoIAlign, values and gradients."""

import pytest
import torch
from mmcv.ops import RoIAlign, roi_align

from transfer.roi_align import MatmulRoIAlign, register, roi_align_matmul


def _case(images=3, channels=5, height=12, width=9, per_image=6, image_size=48, seed=0):
    """Features and RoIs in image coordinates: random boxes, some reaching past the map, one of
    zero size, one tiny; listed in mixed image order, with the last image left without RoIs."""
    generator = torch.Generator().manual_seed(seed)
    features = torch.randn(images, channels, height, width, generator=generator, requires_grad=True)
    corner = torch.rand(per_image * (images - 1), 2, generator=generator) * image_size * 1.2 - 0.1 * image_size
    size = torch.rand(per_image * (images - 1), 2, generator=generator) * image_size * 0.6
    batch = torch.arange(images - 1).repeat(per_image).float()[:, None]  # 0, 1, 0, 1, ...
    rois = torch.cat([batch, corner, corner + size], dim=1)
    rois[0, 3:] = rois[0, 1:3]  # zero size
    rois[1, 3:] = rois[1, 1:3] + 0.3
    return features, rois


@pytest.mark.parametrize("output_size", [(7, 7), (4, 3)])
@pytest.mark.parametrize("sampling_ratio", [0, 2])
@pytest.mark.parametrize("aligned", [True, False])
def test_matches_mmcv_values_and_gradients(output_size, sampling_ratio, aligned):
    features, rois = _case()
    scale = 12 / 48
    expected = roi_align(features, rois, output_size, scale, sampling_ratio, "avg", aligned)
    actual = roi_align_matmul(features, rois, output_size, scale, sampling_ratio, aligned)
    assert actual.shape == expected.shape
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-6)
    upstream = torch.randn_like(expected)
    (grad_expected,) = torch.autograd.grad(expected, features, upstream)
    (grad_actual,) = torch.autograd.grad(actual, features, upstream)
    torch.testing.assert_close(grad_actual, grad_expected, rtol=1e-5, atol=1e-5)
    assert grad_actual[-1].abs().sum() == 0  # the image without RoIs gets no gradient


def test_negative_size_is_an_error_when_aligned():
    features, rois = _case()
    rois[2, 3] = rois[2, 1] - 5
    with pytest.raises(ValueError, match="negative size"):
        roi_align_matmul(features, rois, (7, 7), 0.25, 0, True)


def test_a_batch_index_without_an_image_is_an_error():
    features, rois = _case()
    rois[4, 0] = 7
    with pytest.raises(ValueError, match=r"\[0, 3\): got \[7\]"):
        roi_align_matmul(features, rois, (7, 7), 0.25, 0, True)


def test_unsorted_rois_come_back_in_their_order():
    features, rois = _case()
    shuffled = rois[torch.randperm(rois.shape[0], generator=torch.Generator().manual_seed(1))]
    torch.testing.assert_close(roi_align_matmul(features, shuffled, (7, 7), 0.25, 0, True),
                               roi_align(features, shuffled, (7, 7), 0.25, 0, "avg", True), rtol=1e-5, atol=1e-6)


def test_layer_uses_mmcv_for_large_maps_and_max_pooling():
    features, rois = _case(height=12, width=12)
    small = MatmulRoIAlign(7, spatial_scale=0.25, sampling_ratio=0, max_pixels=12 * 12)
    large = MatmulRoIAlign(7, spatial_scale=0.25, sampling_ratio=0, max_pixels=12 * 12 - 1)
    mmcv_layer = RoIAlign(7, spatial_scale=0.25, sampling_ratio=0)
    reference = mmcv_layer(features, rois)
    assert torch.equal(large(features, rois), reference)  # mmcv's kernel: bit for bit
    assert not torch.equal(small(features, rois), reference)  # the matrix products: other rounding
    torch.testing.assert_close(small(features, rois), reference, rtol=1e-5, atol=1e-6)
    max_layer = MatmulRoIAlign(7, spatial_scale=0.25, pool_mode="max")
    assert torch.equal(max_layer(features, rois), RoIAlign(7, spatial_scale=0.25, pool_mode="max")(features, rois))
    assert "max_pixels=144" in repr(small)


def test_mmdet_builds_it_by_name():
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

    register()
    extractor = SingleRoIExtractor(roi_layer=dict(type="MatmulRoIAlign", output_size=7, sampling_ratio=0),
                                   out_channels=5, featmap_strides=[4, 8])
    assert all(isinstance(layer, MatmulRoIAlign) for layer in extractor.roi_layers)
    features, rois = _case(height=12, width=12)
    coarse = torch.randn(3, 5, 6, 6)
    out = extractor((features, coarse), rois)
    assert out.shape == (rois.shape[0], 5, 7, 7)


def test_bfloat16_features_keep_float32_positions():
    features, rois = _case()
    expected = roi_align(features.detach(), rois, (7, 7), 0.25, 0, "avg", True)
    actual = roi_align_matmul(features.detach().bfloat16(), rois, (7, 7), 0.25, 0, True)
    assert actual.dtype == torch.bfloat16
    torch.testing.assert_close(actual.float(), expected, rtol=0.05, atol=0.05)
