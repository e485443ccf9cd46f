"""reweight: the DaR paper's discussion baseline. All samples are kept; each sample's loss is
weighted by its previous-epoch loss^power, weights normalized to mean 1 (unseen samples
weigh 1, a non-finite loss gets the largest finite weight); batch loss Σ w·l / Σ w."""

from __future__ import annotations

import torch

from pretrain.loss_table import LossTable
from pretrain.methods.base import EpochPlan, Method


def reweighting(last_losses: torch.Tensor, power: float = 1.0) -> torch.Tensor:
    """Sample weights ∝ previous-epoch loss^power, mean 1; unseen samples weigh 1 and
    non-finite losses get the largest finite weight."""
    weights = last_losses.clone().to(torch.float64)
    finite = torch.isfinite(weights)
    if not bool(finite.any()):
        return torch.ones_like(weights, dtype=torch.float32)
    weights[finite] = weights[finite].clamp(min=0) ** power
    weights[torch.isinf(weights)] = weights[finite].max()
    seen = ~torch.isnan(weights)
    mean = weights[seen].mean()
    weights = torch.where(seen, weights / mean if mean > 0 else torch.ones_like(weights), torch.ones_like(weights))
    return weights.float()


class ReWeight(Method):
    name = "reweight"
    label = "re-weight"
    order = 40
    defaults = {"power": 1.0}

    def end_epoch(self, epoch: int, table: LossTable) -> EpochPlan:
        # table.last holds exactly the previous epoch's losses (every sample is seen)
        return EpochPlan(self.all_indices, weights=reweighting(table.last, self.params["power"]))
