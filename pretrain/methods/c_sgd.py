"""c_sgd: budget·N samples per epoch drawn in proportion to the confusion s(1 − s) of the
running mean s of 1 − p_true (Arazo et al., BMVC 2021; the code's `curr_prob * (1 - curr_prob)`
on the averaged score, not a mean of per-step p(1 − p)). Shared machinery and the differences
from that code: unif_sgd.py and p_sgd.py."""

from __future__ import annotations

import numpy as np

from pretrain.methods.unif_sgd import ScoredSubset


class CSGD(ScoredSubset):
    name = "c_sgd"
    label = "c-SGD"
    order = 80

    def importance(self, mean_miss: np.ndarray) -> np.ndarray:
        return mean_miss * (1.0 - mean_miss)
