"""The target-trained selector (Chakraborty et al.'s procedure): the training plans and schedule,
features that learn the target's classes, a domain classifier that finds the target-like
(warm) source images, determinism, and the training counted in the selection's cost."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain.config import load_config
from pretrain.data import ImageFolder, build_datasets, feature_transform
from pretrain.selection import feature_network, relative_selection_cost, select_subset
from pretrain.selection_networks import DOMAIN_CLASSIFIER, TARGET_CLASSIFIER, cosine_lr, epoch_plans, train_and_score
from pretrain.synthetic import write_shapes_folder

REPO = Path(__file__).resolve().parents[2]
SOURCE = str(REPO / "configs" / "pretrain" / "resnet18_shapes_warm_tiny_iid.py")
WARM = {c: (0, 50) for c in range(4)}
SMALL_SOURCE = {"data.num_train": 160, "data.num_val": 16}


def test_a_domain_classifier_epoch_is_balanced_and_walks_through_the_source():
    labels = np.array([0, 1, 2, 3] * 5)  # 20 target images
    plans = epoch_plans(DOMAIN_CLASSIFIER, 50, labels, epochs=3, seed=0)
    for plan in plans:
        assert sorted(i for s, i, y in plan if s == "target" and y == 1) == list(range(20))
        assert sum(1 for s, _, y in plan if s == "source" and y == 0) == 20
    sources = [[i for s, i, _ in plan if s == "source"] for plan in plans]
    assert len(set(sources[0]) | set(sources[1])) == 40  # the second epoch takes the next 20
    assert len(set(sources[0] + sources[1] + sources[2])) == 50  # then wraps round the permutation
    assert plans == epoch_plans(DOMAIN_CLASSIFIER, 50, labels, epochs=3, seed=0)
    assert plans != epoch_plans(DOMAIN_CLASSIFIER, 50, labels, epochs=3, seed=1)


def test_a_target_classifier_epoch_is_the_target_once_with_its_labels_shuffled():
    labels = np.array([0, 1, 2, 3] * 5)
    plans = epoch_plans(TARGET_CLASSIFIER, 50, labels, epochs=2, seed=0)
    for plan in plans:
        assert sorted(plan) == [("target", i, int(labels[i])) for i in range(20)]
    assert plans[0] != plans[1]


def test_the_cosine_schedule_trains_at_a_positive_rate_to_the_last_step_and_reaches_zero_after_it():
    assert cosine_lr(0.1, 0, 10) == pytest.approx(0.1)
    assert cosine_lr(0.1, 9, 10) > 0
    assert cosine_lr(0.1, 10, 10) == pytest.approx(0.0, abs=1e-12)


@pytest.fixture(scope="module")
def warm_target(tmp_path_factory):
    root = tmp_path_factory.mktemp("target") / "warm"
    write_shapes_folder(root, 80, 40, 32, seed=7, classes=[0, 1, 2, 3], hues=WARM, mix=(1.0, 0.0, 0.0))
    return root


def nearest_centre_accuracy(features: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 of the nearest class centre in the standardized feature space K-means sees
    (pretrain.selection.selection_scores): a parameter-free read of class separation."""
    features = (features - features.mean(0)) / (features.std(0) + 1e-6)
    centres = np.stack([features[labels == c].mean(0) for c in np.unique(labels)])
    distances = ((features[:, None, :] - centres[None]) ** 2).sum(-1)
    return float((np.unique(labels)[distances.argmin(1)] == labels).mean())


@pytest.mark.e2e
def test_target_trained_features_separate_the_targets_classes_better_than_random_init_ones(warm_target):
    torch.set_num_threads(1)
    data = {"type": "synthetic"}
    train = ImageFolder(str(warm_target / "train"), feature_transform(data, 32), 0)
    val = ImageFolder(str(warm_target / "val"), feature_transform(data, 32), 0)
    untrained, _, _ = feature_network(None, 0)
    with torch.no_grad():
        before = untrained(torch.stack([train[i]["inputs"] for i in range(len(train))])).numpy()
    # the validation split as the "source": scored by the network trained on the train split
    trained = train_and_score(TARGET_CLASSIFIER, feature_network(None, 0)[0], val, train, 32, seed=0,
                              epochs=12, lr=0.01, batch_size=16)
    # K-means runs on the target's (train) features: how well do they separate its four classes?
    random_init = nearest_centre_accuracy(before, train.targets)
    target_trained = nearest_centre_accuracy(trained.target_features, train.targets)
    val_top1 = float((trained.source_probabilities.argmax(1) == val.targets).mean())
    print(f"nearest-centre top-1 on the target's train split: random init {random_init:.3f}, target-trained "
          f"{target_trained:.3f}; its softmax top-1 on the val split {val_top1:.3f}")
    assert target_trained >= random_init + 0.1  # measured: 0.475 -> 0.613
    assert val_top1 > 0.35  # above chance (0.25) on images it did not train on
    assert trained.train_forwards == 12 * 80 and trained.score_forwards == 40 + 80


@pytest.mark.e2e
def test_the_trained_domain_classifier_keeps_warm_source_images_deterministically_and_its_training_is_charged(
        warm_target, tmp_path):
    torch.set_num_threads(1)
    cfg = load_config(SOURCE, SMALL_SOURCE)  # 160 source images, half of them warm shapes 0-3
    source, _ = build_datasets(dict(cfg["data"]), 0)
    options = dict(seed=0, feature_size=32, selector="target_trained", selector_epochs=4, selector_lr=0.02,
                   selector_batch_size=16)
    record = select_subset(cfg, SOURCE, str(warm_target), "domain_classifier", 0.25, **options)
    kept = np.array(record["indices"])
    warm_share = float((source.targets[kept] < 4).mean())
    print(f"warm share of the kept quarter: {warm_share:.3f} (the source: "
          f"{(source.targets < 4).mean():.3f})")
    assert warm_share >= 0.8  # measured: 0.9
    cost = record["cost"]
    # 4 balanced epochs of 80 target + 80 source images, then one pass over the 160 source images
    assert cost["backwards"] == 4 * 160 and cost["forwards"] == 4 * 160 + 160
    assert cost["flops"] == (cost["forwards"] + 2 * cost["backwards"]) * cost["flops_per_forward"]
    assert cost["train_wall_clock_s"] > 0 and cost["wall_clock_s"] >= cost["train_wall_clock_s"]
    assert record["features"]["selector"] == "target_trained" and record["features"]["network"] == DOMAIN_CLASSIFIER
    # far more than the two feature passes of the linear selector, and in the export's unit
    linear = select_subset(cfg, SOURCE, str(warm_target), "domain_classifier", 0.25, seed=0, feature_size=32)
    assert linear["cost"]["backwards"] == 0 and cost["flops"] > 4 * linear["cost"]["flops"]
    assert relative_selection_cost(cost["flops"], 3 * cost["flops_per_forward"], 160, 30) == pytest.approx(
        (4 * 160 + 160 + 2 * 4 * 160) / (3 * 160 * 30))
    again = select_subset(cfg, SOURCE, str(warm_target), "domain_classifier", 0.25, **options)
    assert again["indices"] == record["indices"]


@pytest.mark.e2e
def test_the_target_classifier_serves_clustering_and_active_learning_from_one_cached_training(warm_target, tmp_path):
    torch.set_num_threads(1)
    cfg = load_config(SOURCE, SMALL_SOURCE)
    source, _ = build_datasets(dict(cfg["data"]), 0)
    options = dict(seed=0, k=8, feature_size=32, selector="target_trained", selector_epochs=3, selector_lr=0.02,
                   selector_batch_size=16, cache_dir=str(tmp_path))
    records = {method: select_subset(cfg, SOURCE, str(warm_target), method, 0.25, **options)
               for method in ("clustering_avg", "clustering_min", "active", "inverse_active")}
    assert len(list(tmp_path.glob("trained_*.npz"))) == 1  # one training, shared
    for method, record in records.items():
        # 3 epochs over the 80 target images, then a pass over the 160 source and the 80 target images
        assert (record["cost"]["backwards"], record["cost"]["forwards"]) == (240, 240 + 240), method
        assert record["features"]["network"] == TARGET_CLASSIFIER
    assert not set(records["active"]["indices"]) & set(records["inverse_active"]["indices"])
    warm = {m: float((source.targets[np.array(r["indices"])] < 4).mean()) for m, r in records.items()}
    print("warm share of the kept quarter:", warm)
    # half the source is warm; 3 epochs already tilt the clustering towards it
    assert warm["clustering_avg"] > 0.55 and warm["active"] > warm["inverse_active"]
    with pytest.raises(ValueError, match="unknown selector 'trained'"):
        select_subset(cfg, SOURCE, str(warm_target), "active", 0.25, selector="trained")
