"""`MatmulRoIAlign`: mmcv's RoIAlign (average pooling) computed as two matrix products, for
CPU training on small feature maps; the same function, several times faster to train there.

Why: mmcv's CPU kernel loops over RoI × channel × bin × sample point in scalar code, and its
backward recomputes every sample's bilinear weights once per channel and scatters one value at
a time. With the kernels capped at AVX2, one thread, RoIAlign was 42% of a training step of the
tiny Faster R-CNN FPN and 37% of the tiny Mask R-CNN (torch.profiler; backward nearly 3x
forward). torchvision's `roi_align` computes the same values in the same time.

How: bilinear sampling is separable. For RoI r on image b, every output bin (ph, pw) averages
its grid_h × grid_w sample points, each a bilinear blend of 4 pixels, so

    out[r, c] = Ay[r] @ F[b, c] @ Ax[r]^T

with Ay[r] (pooled_h × H) holding, per output row, each sample row's two interpolation weights
summed over the bin's samples and divided by grid_h (Ax likewise over columns, divided by
grid_w; grid_h × grid_w is mmcv's `count`). Ay and Ax do not depend on the channel, and the two
products (and their backward, by autograd) are matrix multiplications over all channels at
once. Sample positions, clamping at the border, the out-of-map rule (a sample with y < -1,
y > H, x < -1 or x > W counts zero, still divided by the full count), `aligned` (the half-pixel
offset) and the adaptive grid (ceil(roi size / pooled size) per RoI when `sampling_ratio` is 0)
follow mmcv's kernel (mmcv/ops/csrc/pytorch/cpu/roi_align.cpp); the sums run in another
order, so results differ from mmcv's by float rounding (within 1e-5 relative, values and
gradients, in tests/transfer/test_roi_align.py), and a few hundred training steps carry that
into other metrics: a config names the layer it uses.

Cost grows with H × W per RoI (mmcv's with the number of samples), so it pays on small maps
only: on a level larger than `max_pixels` (default 96 × 96, above the tiny configs' 128-px
images at stride 4), for max pooling and on GPU it calls mmcv's kernel. Paper-scale configs
keep mmcv's `RoIAlign`.

mmdet builds a RoI extractor's `roi_layer` by looking its `type` up in `mmcv.ops`, so
`register()` (called by transfer.build before a detection model is built) adds the class there:
`roi_layer=dict(type='MatmulRoIAlign', output_size=7, sampling_ratio=0)`.
"""

from __future__ import annotations

import torch
from mmcv.ops import RoIAlign


def _axis_weights(start: torch.Tensor, length: torch.Tensor, pooled: int, size: int,
                  sampling_ratio: int) -> torch.Tensor:
    """(R, pooled, size): each output row's (or column's) interpolation weights over the map's
    rows (columns), summed over the bin's sample points and divided by their number."""
    bin_size = length / pooled
    if sampling_ratio > 0:
        grid = torch.full_like(length, float(sampling_ratio))
    else:
        grid = torch.ceil(length / pooled)
    samples = int(grid.max().item()) if grid.numel() else 0
    weights = start.new_zeros(start.shape[0], pooled, size)
    if samples == 0:
        return weights
    p = torch.arange(pooled, dtype=start.dtype, device=start.device).view(1, pooled, 1)
    i = torch.arange(samples, dtype=start.dtype, device=start.device).view(1, 1, samples)
    start, bin_size, grid = start.view(-1, 1, 1), bin_size.view(-1, 1, 1), grid.view(-1, 1, 1)
    # mmcv: y = roi_start_h + ph * bin_size_h + (iy + .5f) * bin_size_h / roi_bin_grid_h
    pos = start + p * bin_size + (i + 0.5) * bin_size / grid.clamp_min(1)
    inside = (pos >= -1.0) & (pos <= size) & (i < grid)
    pos = pos.clamp_min(0)
    low = pos.floor().long()  # pos >= 0 here: mmcv's (int) cast
    at_edge = low >= size - 1
    low = torch.where(at_edge, torch.full_like(low, size - 1), low)
    high = torch.where(at_edge, low, low + 1)
    frac = torch.where(at_edge, torch.zeros_like(pos), pos - low.to(pos.dtype))
    scale = inside.to(pos.dtype) / grid.clamp_min(1)
    index = torch.cat([low, high], dim=2)
    value = torch.cat([(1 - frac) * scale, frac * scale], dim=2)
    return weights.scatter_add_(2, index, value)


def roi_align_matmul(features: torch.Tensor, rois: torch.Tensor, output_size: tuple[int, int],
                     spatial_scale: float, sampling_ratio: int, aligned: bool) -> torch.Tensor:
    """mmcv's `roi_align(..., pool_mode='avg')` of `features` (N, C, H, W) at `rois` (R, 5:
    batch index, x1, y1, x2, y2 in image coordinates): (R, C, pooled_h, pooled_w)."""
    pooled_h, pooled_w = output_size
    n, channels, height, width = features.shape
    rois = rois.detach().float()  # positions in float32 whatever the features' dtype (bfloat16 under AMP)
    offset = 0.5 if aligned else 0.0
    x1, y1 = rois[:, 1] * spatial_scale - offset, rois[:, 2] * spatial_scale - offset
    roi_w, roi_h = rois[:, 3] * spatial_scale - offset - x1, rois[:, 4] * spatial_scale - offset - y1
    if aligned:
        if bool((roi_w < 0).any() or (roi_h < 0).any()):
            raise ValueError("RoIs in RoIAlign cannot have negative size")
    else:
        roi_w, roi_h = roi_w.clamp_min(1.0), roi_h.clamp_min(1.0)
    rows = _axis_weights(y1, roi_h, pooled_h, height, sampling_ratio).to(features.dtype)  # (R, ph, H)
    cols = _axis_weights(x1, roi_w, pooled_w, width, sampling_ratio).to(features.dtype)  # (R, pw, W)
    batch = rois[:, 0].long()
    pieces, order = [], []
    for image in range(n):
        index = (batch == image).nonzero().squeeze(1)
        count = index.numel()
        if count == 0:
            continue
        # every RoI's output rows over all channels at once: (count * ph, H) @ (H, C * W)
        per_row = rows[index].reshape(count * pooled_h, height) @ \
            features[image].transpose(0, 1).reshape(height, channels * width)
        # then their columns: (count, ph * C, W) @ (count, W, pw); both products keep the
        # operands as they lie in memory (no copy of the large intermediate)
        pooled = torch.bmm(per_row.view(count, pooled_h * channels, width), cols[index].transpose(1, 2))
        pieces.append(pooled.view(count, pooled_h, channels, pooled_w))
        order.append(index)
    order = torch.cat(order) if order else batch.new_zeros(0)
    if order.numel() != rois.shape[0]:
        raise ValueError(f"RoI batch indices must lie in [0, {n}): got {sorted(set(batch.tolist()) - set(range(n)))}")
    if not pieces:
        return features.new_zeros(0, channels, pooled_h, pooled_w)
    out = torch.cat(pieces).transpose(1, 2)  # (R, C, ph, pw) in image order
    if not torch.equal(order, torch.arange(order.numel(), device=order.device)):  # mmdet's are sorted
        out = out[torch.argsort(order)]
    return out.contiguous()


class MatmulRoIAlign(RoIAlign):
    """mmcv.ops.RoIAlign (same arguments) computed by `roi_align_matmul` on CPU maps of at most
    `max_pixels` pixels with average pooling; mmcv's kernel otherwise."""

    def __init__(self, *args, max_pixels: int = 96 * 96, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_pixels = max_pixels

    def forward(self, input: torch.Tensor, rois: torch.Tensor) -> torch.Tensor:
        if (input.device.type != "cpu" or self.pool_mode != "avg" or self.use_torchvision
                or input.shape[-2] * input.shape[-1] > self.max_pixels):
            return super().forward(input, rois)
        return roi_align_matmul(input, rois, self.output_size, self.spatial_scale,
                                self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", max_pixels={self.max_pixels})"


def register() -> None:
    """Make `type='MatmulRoIAlign'` resolvable where mmdet looks RoI layers up (mmcv.ops)."""
    import mmcv.ops

    mmcv.ops.MatmulRoIAlign = MatmulRoIAlign
