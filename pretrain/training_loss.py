"""The training loss of stage 1, and the explicit path from the model to the method and back.

The model (pretrain.models.Classifier) calls a TrainingLoss in its training forward pass. It
optionally mixes the batch (mixup or RICAP), computes each image's cross-entropy, applies the
current EpochPlan's loss weights, or, for an in-batch method, makes a scoring forward pass
without gradient (in eval mode), asks the method which samples to back-propagate and trains on
those (at least two); then it keeps a BatchRecord (indices, per-sample losses, sample-forwards,
sample-backwards) that the hook collects right after the step. Model, hook and method get the
same TrainingLoss from the trainer: nothing is set on the model from outside.

Mixing and the per-sample losses that ranking methods read: image i of a mixed batch is built
around sample i (mixup: λ·x_i + (1 − λ)·x_perm(i); RICAP: sample i's patch is the top-left one,
the other three come from permutations), and its loss, Σ_k w_k·CE(logits_i, y_k) with the
mixing weights w_k (λ, 1 − λ; RICAP's patch areas), is recorded as sample i's loss. So a
sample's recorded loss reflects a mixed image in which it has weight λ or its patch's area, not
the sample alone (Arazo et al.'s code reads its scores from the mixed forward pass the same way;
its RICAP attributes them to images that may not contain the sample at all).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from pretrain.methods.base import EpochPlan, Method

MIXES = ("mixup", "ricap")


@dataclass
class BatchRecord:
    """What one training step did, as the hook records it."""

    indices: torch.Tensor  # dataset indices of the batch
    losses: torch.Tensor  # detached float32 per-sample losses of every sample of the batch
    forwards: int  # sample-forwards made (a scoring pass counts too; MoCo v2: query and key forwards)
    backwards: int  # samples back-propagated


def mix_batch(kind: str, inputs: torch.Tensor, labels: torch.Tensor, rng: np.random.Generator,
              alpha: float) -> tuple[torch.Tensor, list[tuple[torch.Tensor, float]]]:
    """Mixed images and the (labels, weight) pairs whose weighted cross-entropy is each image's loss.

    mixup (Zhang et al.): λ ~ Beta(α, α), image i = λ·x_i + (1 − λ)·x_perm(i). RICAP (Takahashi
    et al.): a random point (w, h) with w/W, h/H ~ Beta(α, α) splits the image into four
    rectangles filled with random crops of sample i (top left) and of three permutations.
    """
    batch = len(labels)
    if kind == "mixup":
        lam = float(rng.beta(alpha, alpha))
        perm = torch.from_numpy(rng.permutation(batch)).to(inputs.device)
        return lam * inputs + (1 - lam) * inputs[perm], [(labels, lam), (labels[perm], 1 - lam)]
    if kind == "ricap":
        height, width = inputs.shape[2:]
        w = int(round(width * rng.beta(alpha, alpha)))
        h = int(round(height * rng.beta(alpha, alpha)))
        sizes = [(w, h), (width - w, h), (w, height - h), (width - w, height - h)]
        patches, targets = [], []
        for k, (pw, ph) in enumerate(sizes):
            perm = torch.arange(batch) if k == 0 else torch.from_numpy(rng.permutation(batch))
            x0 = int(rng.integers(0, width - pw + 1))
            y0 = int(rng.integers(0, height - ph + 1))
            patches.append(inputs[perm.to(inputs.device)][:, :, y0:y0 + ph, x0:x0 + pw])
            targets.append((labels[perm.to(labels.device)], pw * ph / (width * height)))
        top = torch.cat(patches[:2], dim=3)
        bottom = torch.cat(patches[2:], dim=3)
        return torch.cat([top, bottom], dim=2), targets
    raise ValueError(f"unknown mix {kind!r}; known: {MIXES}")


class TrainingLoss:
    """Per-sample cross-entropy → the batch loss the optimizer steps on; see the module doc."""

    def __init__(self, method: Method | None = None, mix: str | None = None, mix_alpha: float = 0.3,
                 seed: int = 0, forward_passes: int = 1):
        if mix is not None and mix not in MIXES:
            raise ValueError(f"augment.mix must be one of {MIXES} or None, got {mix!r}")
        self.method = method
        self.mix = mix
        self.mix_alpha = float(mix_alpha)
        self.seed = int(seed)
        # encoder forwards per sample of one call of the network (MoCo v2: query and key, 2), for the cost
        self.forward_passes = int(forward_passes)
        self.weights: torch.Tensor | None = None
        self.normalize = True
        self._rng = np.random.default_rng([self.seed, 0, 0x313])
        self._record: BatchRecord | None = None

    def use(self, plan: EpochPlan) -> None:
        """Weigh the coming epoch's losses as `plan` says."""
        self.weights = plan.weights
        self.normalize = plan.normalize

    def start_epoch(self, epoch: int) -> None:
        """The mixing draws of 1-based `epoch` come from their own (seed, epoch) stream."""
        self._rng = np.random.default_rng([self.seed, epoch, 0x313])

    def __call__(self, net: torch.nn.Module, inputs: torch.Tensor, labels: torch.Tensor,
                 indices: torch.Tensor) -> torch.Tensor:
        targets = None
        if self.mix is not None:
            inputs, targets = mix_batch(self.mix, inputs, labels, self._rng, self.mix_alpha)

        def per_sample(logits: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
            # float32 whatever autocast made the logits (bfloat16 on CPU, float16 on GPU): the
            # losses rank samples, and 8 bits of mantissa would tie and reorder close ones.
            logits = logits.float()
            if self.mix is None:
                return F.cross_entropy(logits, labels if rows is None else labels[rows], reduction="none")
            return sum(weight * F.cross_entropy(logits, y if rows is None else y[rows], reduction="none")
                       for y, weight in targets)

        forwards = self.forward_passes * len(labels)
        if self.method is not None and self.method.in_batch and self.method.scoring_now():
            # Scored as the reference implementations do: no gradient, eval mode (BatchNorm's
            # running statistics, which this pass therefore does not update).
            was_training = net.training
            net.eval()
            with torch.no_grad():
                scores = per_sample(net(inputs))
            net.train(was_training)
            mask = self.method.select_in_batch(indices, scores)
            mask = torch.zeros_like(scores, dtype=torch.bool) if mask is None else mask.to(scores.device)
            if int(mask.sum()) < min(2, len(mask)):
                # Never an empty step (every DDP rank must run the same graph), and never a
                # batch of one (BatchNorm cannot normalize a single 1x1 feature map): add the
                # hardest samples not chosen yet.
                order = torch.argsort(torch.nan_to_num(scores, nan=float("inf")), descending=True)
                mask[order[:2]] = True
            chosen = mask.nonzero().squeeze(1)
            # Each chosen sample weighs 1/B in the step, as in the reference code's full batches of
            # chosen samples: an epoch moves the weights as far, only the grouping into steps
            # differs (the mean over the chosen alone would weigh them B/k times more).
            loss = self._reduce(per_sample(net(inputs[chosen]), chosen), indices[chosen], batch=len(labels))
            forwards += self.forward_passes * len(chosen)
            self._record = BatchRecord(indices, scores, forwards, len(chosen))
            return loss
        losses = per_sample(net(inputs))
        self._record = BatchRecord(indices, losses.detach(), forwards, len(labels))
        return self._reduce(losses, indices)

    def _reduce(self, losses: torch.Tensor, indices: torch.Tensor, batch: int | None = None) -> torch.Tensor:
        """The batch loss: the (weighted) mean of `losses`, or, with `batch`, their (weighted)
        sum divided by that batch size (the chosen part of an in-batch selection)."""
        if self.weights is None:
            return losses.mean() if batch is None else losses.sum() / batch
        weights = self.weights.to(losses.device)[indices.to(losses.device)]
        if batch is not None:
            return (weights * losses).sum() / batch
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
