"""Selection on self-supervised features: MoCo v2 trained on the target's images as the
selection's feature network (pretrain/selection_moco.py), its cost counted as selection cost."""

from pathlib import Path

import pytest
import torch

from pretrain.config import load_config
from pretrain.selection import select_subset
from pretrain.selection_moco import (
    FEATURE_TRAINING_DEFAULTS,
    moco_feature_settings,
    moco_target_features,
    train_moco_features,
)
from pretrain.synthetic import write_shapes_folder

REPO = Path(__file__).resolve().parents[2]
SOURCE = str(REPO / "configs" / "pretrain" / "resnet18_shapes_warm_tiny_iid.py")
WARM = {c: (0, 50) for c in range(4)}
# seconds on one core: a ResNet-10 at 32 px, 8 epochs of 3 steps; lr 0.001 for batch 8 (higher
# rates align every embedding, loss ln(K + 1), on 24 images)
SMALL = dict(name="moco_v2", arch="resnet10", epochs=8, batch_size=8, lr=0.001, dim=16, queue_size=16,
             key_momentum=0.99)


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("target") / "warm"
    write_shapes_folder(root, 24, 8, 48, seed=7, classes=[0, 1, 2, 3], hues=WARM)
    return root


def test_the_option_names_moco_v2_and_its_keys_are_checked():
    assert moco_feature_settings("moco_v2") == FEATURE_TRAINING_DEFAULTS
    assert moco_feature_settings(dict(name="moco_v2", epochs=5))["epochs"] == 5
    for other in (None, "none", "runs/x/export"):
        assert moco_feature_settings(other) is None
    with pytest.raises(KeyError, match="feature_backbone.epoch"):
        moco_feature_settings(dict(name="moco_v2", epoch=5))
    with pytest.raises(ValueError, match="feature_backbone.queue_size must be a positive integer"):
        moco_feature_settings(dict(name="moco_v2", queue_size=0))
    with pytest.raises(ValueError, match="name='moco_v2'"):
        moco_feature_settings(dict(name="simclr"))


@pytest.mark.e2e
def test_moco_features_train_on_the_target_and_are_deterministic(target):
    torch.set_num_threads(1)
    settings = moco_feature_settings(SMALL)
    net, record = train_moco_features(str(target / "train"), settings, 32, seed=0)
    again, _ = train_moco_features(str(target / "train"), settings, 32, seed=0)
    for (key, value), other in zip(net.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(value, other), key
    # trained: the first epoch's loss is low (the queue still holds random keys), the second's
    # near ln 17 ≈ 2.83 (real keys, random-init features), then it falls
    losses = record["epoch_losses"]
    assert len(losses) == 8 and losses[-1] < losses[1] - 0.2
    assert (record["steps"], record["samples"]) == (8 * 3, 8 * 24)
    assert record["forwards"] == 2 * record["backwards"] == 2 * 8 * 24
    assert record["flops"] == 4 * record["flops_per_forward"] * 8 * 24
    features = net(torch.randn(2, 3, 32, 32))
    assert features.shape == (2, 512)  # the pooled backbone, without the MLP head


@pytest.mark.e2e
def test_selection_on_moco_features_counts_their_training_and_trains_once(target, tmp_path):
    torch.set_num_threads(1)
    cfg = load_config(SOURCE, {"data.num_train": 160, "data.num_val": 16})
    records = {method: select_subset(cfg, SOURCE, str(target), method, 0.1, seed=0, k=4, feature_backbone=SMALL,
                                     feature_size=32, cache_dir=str(tmp_path))
               for method in ("clustering_avg", "clustering_min")}
    assert len(list(tmp_path.glob("moco_v2_features_*.pth"))) == 1  # trained once, read by the second method
    for record in records.values():
        cost, training = record["cost"], record["cost"]["feature_training"]
        assert record["size"] == 16 and cost["forwards"] == 160 + 24
        assert training["samples"] == 8 * 24 and training["settings"]["arch"] == "resnet10"
        assert cost["flops"] == cost["forwards"] * cost["flops_per_forward"] + training["flops"]
        assert cost["wall_clock_s"] >= training["wall_clock_s"] > 0
        assert record["features"]["arch"] == "resnet10" and "MoCo v2" in record["features"]["backbone"]
    avg, low = (records[m]["cost"]["feature_training"] for m in ("clustering_avg", "clustering_min"))
    assert avg == low
    # the cached network is the trained one: the same features, hence the same subset, without the cache
    fresh = select_subset(cfg, SOURCE, str(target), "clustering_avg", 0.1, seed=0, k=4, feature_backbone=SMALL,
                          feature_size=32)
    assert fresh["indices"] == records["clustering_avg"]["indices"]
    # and the features are not the random-init network's: another subset
    random_init = select_subset(cfg, SOURCE, str(target), "clustering_avg", 0.1, seed=0, k=4, feature_size=32)
    assert "feature_training" not in random_init["cost"]
    assert random_init["indices"] != fresh["indices"]


@pytest.mark.e2e
def test_the_cache_is_keyed_by_the_settings(target, tmp_path):
    # a cached run is found only for the same settings, target, size and seed
    a = moco_target_features(dict(SMALL, epochs=1), str(target / "train"), 32, 0, str(tmp_path))
    b = moco_target_features(dict(SMALL, epochs=1), str(target / "train"), 32, 0, str(tmp_path))
    c = moco_target_features(dict(SMALL, epochs=1), str(target / "train"), 32, 1, str(tmp_path))
    assert a[2] == b[2] != c[2] and len(list(tmp_path.glob("*.pth"))) == 2
    assert a[3] == b[3]
    assert moco_target_features(None, str(target / "train"), 32, 0) is None


def test_moco_v2_features_learn_on_a_voc_target_s_images(tmp_path):
    from transfer.synthetic import make_voc_scenes

    root = make_voc_scenes(tmp_path / "voc", num_train=8, num_val=2)["root"]
    net, record = train_moco_features(root, moco_feature_settings(dict(SMALL, epochs=1)), 32, seed=0)
    assert record["target_size"] == 8 and record["steps"] == 1 and record["backwards"] == 8
    assert net(torch.zeros(2, 3, 32, 32)).shape[0] == 2
