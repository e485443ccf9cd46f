"""The training loss of stage 1, and the explicit path from the model to the method and back.

The model (pretrain.models.Classifier) calls a TrainingLoss in its training forward pass. It
computes the per-sample cross-entropy, applies the current EpochPlan's loss weights, or, for
an in-batch method, makes a scoring forward pass without gradient, asks the method which
samples to back-propagate and trains on those; then it keeps a BatchRecord (indices,
per-sample losses, sample-forwards, sample-backwards) that the hook collects right after the
step. Model, hook and method get the same TrainingLoss from the trainer: nothing is set on the
model from outside.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from pretrain.methods.base import EpochPlan, Method


@dataclass
class BatchRecord:
    """What one training step did, as the hook records it."""

    indices: torch.Tensor  # dataset indices of the batch
    losses: torch.Tensor  # detached per-sample losses of every sample of the batch
    forwards: int  # sample-forwards made (a scoring pass counts too)
    backwards: int  # samples back-propagated


class TrainingLoss:
    """Per-sample cross-entropy → the batch loss the optimizer steps on; see the module doc."""

    def __init__(self, method: Method | None = None):
        self.method = method
        self.weights: torch.Tensor | None = None
        self.normalize = True
        self._record: BatchRecord | None = None

    def use(self, plan: EpochPlan) -> None:
        """Weigh the coming epoch's losses as `plan` says."""
        self.weights = plan.weights
        self.normalize = plan.normalize

    def __call__(self, net: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
                 indices: torch.Tensor) -> torch.Tensor:
        forwards = len(labels)
        if self.method is not None and self.method.in_batch:
            with torch.no_grad():
                scores = F.cross_entropy(net(inputs), labels, reduction="none")
            mask = self.method.select_in_batch(indices, scores)
            if mask is None or not bool(mask.any()):
                # Never an empty step: every rank must run the same graph under DDP.
                mask = torch.zeros_like(scores, dtype=torch.bool)
                mask[int(torch.nan_to_num(scores, nan=float("inf")).argmax())] = True
            chosen = mask.nonzero().squeeze(1)
            losses = F.cross_entropy(net(inputs[chosen]), labels[chosen], reduction="none")
            loss = self._reduce(losses, indices[chosen])
            forwards += len(chosen)
            self._record = BatchRecord(indices, scores, forwards, len(chosen))
            return loss
        losses = F.cross_entropy(net(inputs), labels, reduction="none")
        self._record = BatchRecord(indices, losses.detach(), forwards, forwards)
        return self._reduce(losses, indices)

    def _reduce(self, losses: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
        if self.weights is None:
            return losses.mean()
        weights = self.weights.to(losses.device)[indices.to(losses.device)]
        if self.normalize:
            return (weights * losses).sum() / weights.sum()
        return (weights * losses).mean()

    def pop(self) -> BatchRecord:
        """The record of the step just made (once)."""
        if self._record is None:
            raise RuntimeError("no training step recorded: the model's training forward did not go "
                               "through its TrainingLoss")
        record, self._record = self._record, None
        return record
