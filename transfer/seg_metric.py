"""mmseg's IoUMetric, keeping the per-class table it prints (for results.json's per_class).

mmseg 1.2.2's `IoUMetric.compute_metrics` returns only aAcc/mIoU/mAcc and prints the per-class
IoU/Acc table to the log. `PerClassIoUMetric` returns exactly the same metrics and also keeps
that table, computed by the same code and rounding (`np.round(value * 100, 2)`), as
`self.per_class = {"IoU": {class: percent}, "Acc": {...}}` on the main process. Registered by
name in mmseg's METRICS registry because configs name it (`custom_imports` in the pspnet
configs imports this module).
"""

from __future__ import annotations

import numpy as np
from mmseg.evaluation.metrics import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class PerClassIoUMetric(IoUMetric):
    """IoUMetric that also stores its per-class table in `self.per_class`."""

    def compute_metrics(self, results: list) -> dict:
        """The summary metrics of IoUMetric; the per-class table goes to `self.per_class`."""
        metrics = super().compute_metrics(results)
        self.per_class = None
        if self.format_only:
            return metrics
        # per image (intersect, union, pred, label) -> the four totals
        totals = [sum(column) for column in zip(*results, strict=True)]
        per_metric = self.total_area_to_metrics(*totals, self.metrics, self.nan_to_num,
                                                self.beta)
        per_metric.pop("aAcc", None)
        classes = self.dataset_meta["classes"]
        self.per_class = {
            # round() again in float64: np.round of mmseg's float32 leaves 39.189998626...
            name: {cls: round(float(v), 2)
                   for cls, v in zip(classes, np.round(values * 100, 2), strict=True)}
            for name, values in per_metric.items()}
        return metrics
