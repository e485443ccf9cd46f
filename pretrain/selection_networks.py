"""The networks of conditional selection as Chakraborty et al. ran it (selector "target_trained"):
a ResNet-18 trained on the target's classes ("We first train a model on the target domain to
extract representations"; active learning trains "a network f_t on the target dataset"), whose
pooled features the clustering methods and whose softmax entropy the active-learning methods
read, and a ResNet-18 domain classifier trained source (0) vs target (1).

Short seeded schedules on the CPU: SGD (momentum 0.9, weight decay 5e-4), cosine decay per
iteration ending at zero after the last one, random-resized crops and flips drawn by the datasets
from (seed, epoch, index) streams, shuffles from (seed, network, epoch) generators: a selection
repeats bit for bit. A domain-classifier epoch is balanced: every target image and as many source
images, taken in turn from one seeded permutation of the source (later epochs see others). Every
sample-step is counted, so that the selection's cost includes the training (`TrainedScores`).
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms as T
from torch import nn

from pretrain.data import IMAGENET_MEAN, IMAGENET_STD
from pretrain.models import forward_flops

TRAINING_DEFAULTS = {"epochs": 15, "lr": 0.01, "batch_size": 16}
TARGET_CLASSIFIER, DOMAIN_CLASSIFIER = "target_classifier", "domain_classifier"
MOMENTUM, WEIGHT_DECAY = 0.9, 5e-4


class SelectorNet(nn.Module):
    """A feature network (pooled features) with a linear head; returns (features, logits)."""

    def __init__(self, body: nn.Module, dim: int, num_classes: int):
        super().__init__()
        self.body, self.head = body, nn.Linear(dim, num_classes)

    def forward(self, x):
        features = self.body(x).flatten(1)
        return features, self.head(features)


@dataclass
class TrainedScores:
    """What one selection network gives the scoring, and what it cost."""

    source_features: np.ndarray  # [n_source, d] pooled features (eval mode)
    target_features: np.ndarray  # [n_target, d]; the target classifier's only (clustering reads them)
    source_probabilities: np.ndarray  # [n_source, classes] softmax of the head
    flops_per_forward: int
    train_forwards: int  # sample-steps of training (each also one backward)
    score_forwards: int  # forward passes of the scoring (the source, and the target for clustering)
    train_seconds: float
    score_seconds: float
    train_top1: float  # accuracy on the training samples of the last epoch (a sanity check)


def train_transform(size: int):
    """The selectors' training augmentation: random-resized crop (scale 0.6-1) and flip at `size`."""
    return T.Compose([T.RandomResizedCrop(size, scale=(0.6, 1.0), interpolation=T.InterpolationMode.BILINEAR,
                                          antialias=True),
                      T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])


def with_transform(dataset, transform):
    """A shallow copy of `dataset` that applies `transform` (the images stay shared)."""
    view = copy.copy(dataset)
    view.transform = transform
    return view


def epoch_plans(network: str, n_source: int, target_labels: np.ndarray, epochs: int, seed: int
                ) -> list[list[tuple[str, int, int]]]:
    """Per epoch, the shuffled training samples (set "source"/"target", index, label) of `network`:
    the target's classes, or balanced source (0) vs target (1)."""
    n_target = len(target_labels)
    tag = 0 if network == TARGET_CLASSIFIER else 1
    source_order = np.random.default_rng([seed, tag, 0x50C]).permutation(n_source)
    plans = []
    for epoch in range(epochs):
        if network == TARGET_CLASSIFIER:
            samples = [("target", i, int(target_labels[i])) for i in range(n_target)]
        else:
            taken = source_order[(epoch * n_target + np.arange(n_target)) % n_source]
            samples = [("target", i, 1) for i in range(n_target)] + [("source", int(i), 0) for i in taken]
        order = np.random.default_rng([seed, tag, epoch]).permutation(len(samples))
        plans.append([samples[i] for i in order])
    return plans


def cosine_lr(base_lr: float, step: int, steps: int) -> float:
    """The learning rate of iteration `step` (0-based) of `steps`: > 0 at the last, 0 after it."""
    return base_lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))


def fit(net: SelectorNet, datasets: dict, plans: list, lr: float, batch_size: int) -> tuple[int, float]:
    """Train `net` over `plans` (epoch_plans) reading inputs from `datasets` {"source", "target"}
    (augmenting views); return (sample-steps trained, top-1 on the last epoch's samples). A last
    batch of one sample (BatchNorm needs two) is dropped and not counted."""
    batches = [(epoch, plan[start:start + batch_size]) for epoch, plan in enumerate(plans)
               for start in range(0, len(plan), batch_size) if len(plan[start:start + batch_size]) > 1]
    optimizer = torch.optim.SGD(net.parameters(), lr=lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    net.train()
    trained, correct, seen = 0, 0, 0
    for step, (epoch, batch) in enumerate(batches):
        for group in optimizer.param_groups:
            group["lr"] = cosine_lr(lr, step, len(batches))
        inputs = torch.stack([datasets[name][(index, epoch)]["inputs"] for name, index, _ in batch])
        labels = torch.tensor([label for _, _, label in batch])
        _, logits = net(inputs)
        loss = nn.functional.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        trained += len(batch)
        if epoch == len(plans) - 1:
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(batch)
    return trained, correct / max(seen, 1)


@torch.no_grad()
def score(net: SelectorNet, dataset, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
    """(pooled features, softmax probabilities) of every sample of `dataset`, in eval mode."""
    net.eval()
    features, probabilities = [], []
    for start in range(0, len(dataset), batch_size):
        batch = torch.stack([dataset[i]["inputs"] for i in range(start, min(start + batch_size, len(dataset)))])
        f, logits = net(batch)
        features.append(f.numpy())
        probabilities.append(torch.softmax(logits.double(), 1).numpy())
    return np.concatenate(features), np.concatenate(probabilities)


def train_and_score(network: str, body: nn.Module, source, target, size: int, seed: int, epochs: int, lr: float,
                    batch_size: int) -> TrainedScores:
    """Train `network` (TARGET_CLASSIFIER or DOMAIN_CLASSIFIER) from `body` (a feature network,
    modified in place) on `source` / `target` (datasets with the deterministic scoring transform),
    then score both sets with it."""
    if epochs < 1 or lr <= 0 or batch_size < 2:
        raise ValueError(f"selector training needs epochs >= 1, lr > 0 and batch_size >= 2; got epochs={epochs}, "
                         f"lr={lr}, batch_size={batch_size}")
    if network == TARGET_CLASSIFIER and len(np.unique(target.targets)) < 2:
        raise ValueError("the target classifier needs a target with at least two classes")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        with torch.no_grad():
            dim = body.eval()(torch.zeros(1, 3, size, size)).flatten(1).shape[1]
        net = SelectorNet(body, dim, int(target.targets.max()) + 1 if network == TARGET_CLASSIFIER else 2)
    flops_each = forward_flops(net, size)
    augmenting = {"source": with_transform(source, train_transform(size)),
                  "target": with_transform(target, train_transform(size))}
    started = time.perf_counter()
    trained, top1 = fit(net, augmenting, epoch_plans(network, len(source), target.targets, epochs, seed), lr,
                        batch_size)
    scoring = time.perf_counter()
    source_features, source_probabilities = score(net, source)
    scores_target = network == TARGET_CLASSIFIER
    target_features = score(net, target)[0] if scores_target else np.empty((0, dim), np.float32)
    done = time.perf_counter()
    return TrainedScores(source_features, target_features, source_probabilities, flops_each, trained,
                         len(source) + (len(target) if scores_target else 0), scoring - started, done - scoring,
                         top1)
