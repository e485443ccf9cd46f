"""p_sgd: budget·N samples per epoch drawn in proportion to a running mean of 1 − p_true
(Arazo et al., BMVC 2021; EricArazo/ImportanceSampling, train.py `update_sampling_metrics`,
`select_samples`). Shared machinery and the differences from that code: unif_sgd.py.

One more difference: the code updates the mean after every step from that step's forward
pass; here once per epoch from the epoch's loss of each sample it trained on, which is the
same value when, as here, an epoch draws each sample at most once (under DDP a sample padded
twice into an epoch counts with its mean loss).
"""

from __future__ import annotations

import numpy as np

from pretrain.methods.unif_sgd import ScoredSubset


class PSGD(ScoredSubset):
    name = "p_sgd"
    label = "p-SGD"
    order = 70

    def importance(self, mean_miss: np.ndarray) -> np.ndarray:
        return mean_miss
