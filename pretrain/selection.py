"""Conditional pre-training's subset selection (Chakraborty et al.): choose, before pretraining,
the part of the source set that resembles the target.

Every method scores the source images and keeps the best-scored round(fraction × N), ties
broken by index:
  random             a uniform draw (the control every conditional method must beat)
  domain_classifier  a source (0) vs target (1) classifier; keep the source images it finds most
                     target-like (highest p(target))
  clustering_avg     K-means (K=200 by default, scikit-learn) on the target's features; keep the
  clustering_min     source images with the smallest average / minimum distance to the centres
  active             a classifier of the target's labels; keep the source images where its
  inverse_active     prediction entropy is highest (active) / lowest (inverse active)
Two selectors give the scores:
  target_trained  the paper's procedure (pretrain.selection_networks): a ResNet-18 trained on the
                  target's classes gives the features (clustering) and the entropy (active); the
                  domain classifier is a ResNet-18 trained source vs target. Their training
                  (forwards and backwards) and scoring passes are the selection's cost.
  linear          the cheap variant: the pooled features of one untrained network (a seeded
                  random-init ResNet-18, or an export / checkpoint) and logistic regressions on
                  them (domain classifier, active); its cost is two feature passes.
The scoring functions are pure (features in, indices out); `select_subset` adds the I/O and
measures the cost: forwards, backwards, FLOPs, wall-clock of training, passes and fit.
"""

from __future__ import annotations

import copy
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from common.files import atomic_path
from common.provenance import config_hash, versions
from pretrain.data import IMAGENET_MEAN, IMAGENET_STD, UNLABELLED, build_datasets, feature_transform, target_images
from pretrain.models import build_network, forward_flops
from pretrain.selection_moco import moco_target_features
from pretrain.selection_networks import (
    DOMAIN_CLASSIFIER,
    TARGET_CLASSIFIER,
    TRAINING_DEFAULTS,
    TrainedScores,
    train_and_score,
)
from pretrain.subset import SUBSET_FORMAT, sample_list_hash, subset_size

METHODS = ("random", "domain_classifier", "clustering_avg", "clustering_min", "active", "inverse_active")
SELECTORS = ("target_trained", "linear")
DEFAULT_K = 200
FEATURE_ARCH = "resnet18"


def keep_best(scores: np.ndarray, size: int) -> np.ndarray:
    """Indices of the `size` highest scores, ties broken by the lower index; ascending."""
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores, dtype=np.float64)))
    return np.sort(order[:size])


def _standardize(source: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    both = np.concatenate([source, target])
    mean, std = both.mean(0), both.std(0) + 1e-6
    return (source - mean) / std, (target - mean) / std


def selection_scores(method: str, source: np.ndarray, target: np.ndarray, target_labels: np.ndarray,
                     seed: int, k: int = DEFAULT_K) -> np.ndarray | None:
    """Per-source-image score (higher = kept first) of a conditional method; None for random."""
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression

    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}; known: {', '.join(METHODS)}")
    if method == "random":
        return None
    source, target = _standardize(source.astype(np.float64), target.astype(np.float64))
    if method == "domain_classifier":
        model = LogisticRegression(max_iter=2000, class_weight="balanced", C=1.0)
        model.fit(np.concatenate([source, target]), np.r_[np.zeros(len(source)), np.ones(len(target))])
        return model.predict_proba(source)[:, 1]
    if method.startswith("clustering"):
        kmeans = KMeans(n_clusters=min(k, len(target)), n_init=3, random_state=seed).fit(target)
        distances = kmeans.transform(source)  # [source, K] Euclidean distances to the centres
        return -(distances.mean(1) if method == "clustering_avg" else distances.min(1))
    if len(np.unique(target_labels)) < 2:
        raise ValueError(f"{method} needs a target with at least two classes")
    model = LogisticRegression(max_iter=2000, C=1.0).fit(target, target_labels)
    entropy = prediction_entropy(model.predict_proba(source))
    return entropy if method == "active" else -entropy


def prediction_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy (nats) of each row of class probabilities."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(1)


def trained_network(method: str) -> str:
    """The selection network a method of the target_trained selector reads."""
    return DOMAIN_CLASSIFIER if method == "domain_classifier" else TARGET_CLASSIFIER


def trained_selection_scores(method: str, trained, seed: int, k: int = DEFAULT_K) -> np.ndarray:
    """Per-source-image score of a method from its trained network's outputs (TrainedScores):
    the domain classifier's p(target), K-means on the target classifier's features, the entropy
    of its softmax."""
    if method == "domain_classifier":
        return trained.source_probabilities[:, 1]
    if method.startswith("clustering"):
        return selection_scores(method, trained.source_features, trained.target_features, np.empty(0), seed, k)
    entropy = prediction_entropy(trained.source_probabilities)
    return entropy if method == "active" else -entropy


def choose(method: str, source: np.ndarray, target: np.ndarray, target_labels: np.ndarray,
           fraction: float, seed: int, k: int = DEFAULT_K) -> np.ndarray:
    """The kept source indices (ascending) of `method` at `fraction` of the source."""
    size = subset_size(fraction, len(source))
    if method == "random":
        rng = np.random.default_rng([seed, 0x5E1EC7])
        return np.sort(rng.choice(len(source), size, replace=False))
    return keep_best(selection_scores(method, source, target, target_labels, seed, k), size)


def feature_network(feature_backbone: str | None, seed: int) -> tuple[nn.Module, str, str]:
    """(network returning pooled features, arch, description): an export / checkpoint, or a
    ResNet-18 with seeded random init ("none"), whose pooled features still carry colour and
    texture statistics at no training cost."""
    if feature_backbone in (None, "none"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            net = build_network(FEATURE_ARCH, 1000)
        net.fc = nn.Identity()
        return net.eval(), FEATURE_ARCH, f"random-init {FEATURE_ARCH} (seed {seed})"
    from pretrain.features import load_feature_network

    net, meta = load_feature_network(feature_backbone)
    return net, meta["arch"], str(feature_backbone)


@torch.no_grad()
def extract(net: nn.Module, dataset, batch_size: int = 128) -> np.ndarray:
    """Features [n, d] of every sample of `dataset` (items with "inputs"), in order."""
    out = []
    for start in range(0, len(dataset), batch_size):
        batch = torch.stack([dataset[i]["inputs"] for i in range(start, min(start + batch_size, len(dataset)))])
        out.append(net(batch).flatten(1).numpy())
    return np.concatenate(out)


def needs_target_labels(method: str, selector: str) -> bool:
    """Whether a method reads the target's class labels: active learning's entropy (a classifier
    of the target's classes), and the target_trained selector's clustering (features of that
    classifier); the domain classifier and the linear selector's clustering need images only."""
    if method in ("active", "inverse_active"):
        return True
    return selector == "target_trained" and method.startswith("clustering")


def target_train_split(root: str) -> str:
    """The target's training split: ROOT/train if it exists (train/val layout), else ROOT (class
    folders, or a VOCdevkit, whose training lists pretrain.data.VOCImages reads)."""
    return str(Path(root) / "train") if (Path(root) / "train").is_dir() else str(root)


def select_subset(source_cfg: dict, source_config_path: str, target_root: str, method: str, fraction: float,
                  seed: int = 0, k: int = DEFAULT_K, feature_backbone: str | None = None,
                  feature_size: int | None = None, cache_dir: str | None = None, selector: str = "linear",
                  selector_epochs: int | None = None, selector_lr: float | None = None,
                  selector_batch_size: int | None = None) -> dict:
    """Run one selection; return the subset record (pretrain.subset) with its measured cost.

    `selector`: "linear" (features of `feature_backbone`, logistic regressions) or
    "target_trained" (networks trained from `feature_backbone`, or a seeded random init, for
    `selector_epochs` at `selector_lr` with batches of `selector_batch_size`; defaults
    pretrain.selection_networks.TRAINING_DEFAULTS). `feature_backbone="moco_v2"` (or a dict, see
    pretrain.selection_moco): MoCo v2 trained on the target's images gives that network.
    `cache_dir`: keep the feature passes (and the trained networks' outputs) there, keyed by
    network, settings, source, target and size, so that several methods of one experiment share
    them; each record still carries their measured cost, since each method needs them."""
    if method not in METHODS:
        raise ValueError(f"unknown selection method {method!r}; known: {', '.join(METHODS)}")
    if selector not in SELECTORS:
        raise ValueError(f"unknown selector {selector!r}; known: {', '.join(SELECTORS)}")
    data = copy.deepcopy(dict(source_cfg["data"]))
    if data.pop("subset", None):
        raise ValueError(f"{source_config_path}: the source config already sets data.subset; select from the "
                         "full source")
    source, _ = build_datasets(data, seed)
    size = feature_size or int(data["image_size"])
    source.transform = feature_transform(data, size)
    target = target_images(target_train_split(target_root), feature_transform(data, size), seed)
    if target.classes == [UNLABELLED] and needs_target_labels(method, selector):
        raise ValueError(f"selection method {method!r} with selector {selector!r} trains on the target's classes, "
                         f"and {target_root} is a VOCdevkit whose images carry none here; for a VOC target use "
                         "random, domain_classifier, or clustering_avg / clustering_min with selector='linear'")

    source_hash, target_hash = sample_list_hash(source), sample_list_hash(target)
    started = time.perf_counter()
    features = None
    # feature_backbone="moco_v2": MoCo v2 trained on the target first (pretrain.selection_moco), the
    # network either selector then starts from; its training is counted below
    learnt = (moco_target_features(feature_backbone, target_train_split(target_root), size, seed, cache_dir)
              if method != "random" else None)
    if method == "random":  # a uniform draw needs no features: it costs nothing
        indices = choose(method, np.empty((len(source), 0)), np.empty((0, 0)), np.empty(0), fraction, seed, k)
        cost = {"forwards": 0, "backwards": 0, "flops_per_forward": 0, "flops": 0, "train_wall_clock_s": 0.0,
                "feature_wall_clock_s": 0.0, "fit_wall_clock_s": round(time.perf_counter() - started, 3)}
    elif selector == "linear":
        net, arch, described = learnt[:3] if learnt else feature_network(feature_backbone, seed)
        cache = (Path(cache_dir) / f"features_{config_hash([described, source_hash, target_hash, size])}.npz"
                 if cache_dir else None)
        source_features, target_features, flops_each, features_s = _features(net, source, target, size, cache)
        fit_started = time.perf_counter()
        indices = choose(method, source_features, target_features, target.targets, fraction, seed, k)
        forwards = len(source) + len(target)
        cost = {"forwards": forwards, "backwards": 0, "flops_per_forward": flops_each, "flops": forwards * flops_each,
                "train_wall_clock_s": 0.0, "feature_wall_clock_s": round(features_s, 3),
                "fit_wall_clock_s": round(time.perf_counter() - fit_started, 3)}
        features = {"selector": selector, "arch": arch, "backbone": described, "image_size": size,
                    "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    else:
        given = {"epochs": selector_epochs, "lr": selector_lr, "batch_size": selector_batch_size}
        # a given 0 stays 0, so that train_and_score refuses it by name instead of a default replacing it
        training = {key: type(default)(default if given[key] is None else given[key])
                    for key, default in TRAINING_DEFAULTS.items()}
        network = trained_network(method)
        body, arch, described = learnt[:3] if learnt else feature_network(feature_backbone, seed)
        key = config_hash([network, described, training, seed, source_hash, target_hash, size])
        cache = Path(cache_dir) / f"trained_{key}.npz" if cache_dir else None
        trained = _trained(network, body, source, target, size, seed, training, cache)
        fit_started = time.perf_counter()
        indices = keep_best(trained_selection_scores(method, trained, seed, k), subset_size(fraction, len(source)))
        # a training sample-step is one forward and one backward (about two forwards' FLOPs)
        forwards, backwards = trained.train_forwards + trained.score_forwards, trained.train_forwards
        cost = {"forwards": forwards, "backwards": backwards, "flops_per_forward": trained.flops_per_forward,
                "flops": (forwards + 2 * backwards) * trained.flops_per_forward,
                "train_wall_clock_s": round(trained.train_seconds, 3),
                "feature_wall_clock_s": round(trained.score_seconds, 3),
                "fit_wall_clock_s": round(time.perf_counter() - fit_started, 3)}
        features = {"selector": selector, "network": network, "arch": arch, "backbone": f"{described}, trained",
                    "init": described, "training": {**training, "train_top1": round(trained.train_top1, 4)},
                    "image_size": size, "mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    if learnt:  # its training is part of the selection: every method reading the features needs it
        cost["feature_training"] = learnt[3]
        cost["flops"] += learnt[3]["flops"]
        cost["train_wall_clock_s"] = round(cost["train_wall_clock_s"] + learnt[3]["wall_clock_s"], 3)
    cost["wall_clock_s"] = round(cost["train_wall_clock_s"] + cost["feature_wall_clock_s"]
                                 + cost["fit_wall_clock_s"], 3)
    return {
        "format": SUBSET_FORMAT, "method": method, "fraction": float(fraction), "seed": int(seed),
        "params": {"k": int(k)} if method.startswith("clustering") else {},
        "source": {"config": str(source_config_path), "data": data, "size": len(source), "hash": source_hash},
        "target": {"root": str(target_root), "size": len(target), "hash": target_hash,
                   "classes": list(target.classes)},
        "features": features,
        "cost": cost,
        "size": int(len(indices)),
        "versions": versions(),
        "indices": indices.tolist(),
    }


def _trained(network: str, body: nn.Module, source, target, size: int, seed: int, training: dict,
             cache: Path | None) -> TrainedScores:
    """The outputs and counted cost of one trained selection network, read from `cache` when an
    earlier selection of the experiment trained it (its measured seconds kept)."""
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            return TrainedScores(**{name: stored[name] if stored[name].ndim else stored[name].item()
                                    for name in stored.files})
    trained = train_and_score(network, body, source, target, size, seed, **training)
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as f:
            np.savez(f, **dataclasses.asdict(trained))
    return trained


def _features(net: nn.Module, source, target, size: int, cache: Path | None
              ) -> tuple[np.ndarray, np.ndarray, int, float]:
    """(source features, target features, FLOPs per forward, seconds the passes took), read from
    `cache` when an earlier selection of the experiment made them (its measured seconds kept)."""
    if cache is not None and cache.is_file():
        with np.load(cache) as stored:
            return stored["source"], stored["target"], int(stored["flops_each"]), float(stored["seconds"])
    started = time.perf_counter()
    flops_each = forward_flops(net, size)
    source_features, target_features = extract(net, source), extract(net, target)
    seconds = time.perf_counter() - started
    if cache is not None:
        with atomic_path(cache) as tmp, open(tmp, "wb") as f:
            np.savez(f, source=source_features, target=target_features, flops_each=flops_each, seconds=seconds)
    return source_features, target_features, flops_each, seconds


def relative_selection_cost(selection_flops: float, train_flops_per_sample: float, source_size: int,
                            epochs: int) -> float:
    """Selection FLOPs as a share of i.i.d. pretraining on the whole source at the reference
    resolution over the configured epochs (3 × forward FLOPs per sample-step): the unit of `cost`."""
    return selection_flops / (train_flops_per_sample * source_size * epochs)
