"""Conditional pre-training's subset selection: the six methods on features with a known target
cluster, the subset file and its checks against the source, the tool on generated data, and the
shapes generator's domain-shift options."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain.config import load_config
from pretrain.data import build_datasets
from pretrain.selection import METHODS, choose, keep_best, select_subset
from pretrain.subset import read_subset, sample_list_hash, subset_indices, write_subset
from pretrain.synthetic import make_shapes, write_shapes_folder

REPO = Path(__file__).resolve().parents[2]
SOURCE = str(REPO / "configs" / "pretrain" / "resnet18_shapes_warm_tiny_iid.py")
WARM = {c: (0, 50) for c in range(4)}
SMALL_SOURCE = {"data.num_train": 160, "data.num_val": 16}


def clustered_features(seed=0):
    """Source: 100 points near the target's centre (indices 0-99) and 300 far away; target: 60
    points near it, two classes separated along one axis (so an entropy is defined)."""
    rng = np.random.default_rng(seed)
    near = rng.normal(0.0, 1.0, (100, 8))
    far = rng.normal(6.0, 1.0, (300, 8))
    target = rng.normal(0.0, 1.0, (60, 8))
    labels = (target[:, 0] > 0).astype(int)
    return np.concatenate([near, far]), target, labels


def test_keep_best_takes_the_highest_scores_and_breaks_ties_by_index():
    assert keep_best(np.array([0.5, 2.0, 2.0, 1.0, 2.0]), 2).tolist() == [1, 2]
    assert keep_best(np.array([3.0, 1.0, 2.0]), 3).tolist() == [0, 1, 2]


@pytest.mark.parametrize("method", ["domain_classifier", "clustering_avg", "clustering_min"])
def test_similarity_methods_keep_the_source_points_near_the_target(method):
    source, target, labels = clustered_features()
    kept = choose(method, source, target, labels, fraction=0.25, seed=0, k=8)
    assert len(kept) == 100
    assert (kept < 100).mean() >= 0.95  # the near cluster, not the far one


def test_active_and_inverse_active_take_opposite_ends_of_the_entropy():
    source, target, labels = clustered_features()
    active = set(choose("active", source, target, labels, 0.2, seed=0).tolist())
    inverse = set(choose("inverse_active", source, target, labels, 0.2, seed=0).tolist())
    assert len(active) == len(inverse) == 80 and not active & inverse


def test_random_is_a_seeded_uniform_draw():
    source, target, labels = clustered_features()
    a = choose("random", source, target, labels, 0.25, seed=3)
    assert a.tolist() == choose("random", source, target, labels, 0.25, seed=3).tolist()
    assert a.tolist() != choose("random", source, target, labels, 0.25, seed=4).tolist()
    assert 0.1 < (a < 100).mean() < 0.45  # no preference for the target-like quarter


def test_shapes_domain_options_leave_the_default_set_unchanged():
    default = make_shapes(64, 24, seed=1)
    tinted = make_shapes(64, 24, seed=1, hues=WARM)
    assert np.array_equal(default[1], tinted[1])
    other = default[1] >= 4
    assert np.array_equal(default[0][other], tinted[0][other])  # untinted classes bit for bit
    assert not np.array_equal(default[0][~other], tinted[0][~other])
    subset = make_shapes(64, 24, seed=1, classes=[2, 5])
    assert sorted(set(subset[1].tolist())) == [2, 5] and np.bincount(subset[1]).max() == 32
    with pytest.raises(ValueError, match="classes"):
        make_shapes(8, 24, classes=[8])


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("target") / "warm"
    write_shapes_folder(root, 24, 8, 48, seed=7, classes=[0, 1, 2, 3], hues=WARM)
    return root


@pytest.mark.e2e
def test_every_method_selects_on_generated_data_and_the_subset_file_round_trips(target, tmp_path):
    torch.set_num_threads(1)
    cfg = load_config(SOURCE, SMALL_SOURCE)
    kinds = {}
    for method in METHODS:
        record = select_subset(cfg, SOURCE, str(target), method, 0.1, seed=0, k=4, feature_size=32,
                               cache_dir=str(tmp_path))
        path = write_subset(tmp_path / f"{method}.json", record)
        kinds[method] = read_subset(path)["indices"]
        assert record["size"] == 16 and record["source"]["size"] == 160 and record["target"]["size"] == 24
        assert record["cost"]["forwards"] == (0 if method == "random" else 184)
    assert len({tuple(v) for v in kinds.values()}) >= 4  # the methods do differ
    assert len(list(tmp_path.glob("features_*.npz"))) == 1  # one feature pass, shared
    # the subset applies to the source it was selected from ...
    source, _ = build_datasets({**cfg["data"], "num_train": 160}, 0)
    indices, _ = subset_indices(tmp_path / "clustering_min.json", source)
    assert indices.tolist() == kinds["clustering_min"]
    train, _ = build_datasets({**cfg["data"], "num_train": 160, "subset": str(tmp_path / "clustering_min.json")}, 0)
    assert len(train) == 16 and train.source_size == 160
    assert train[3]["label"] == source.targets[indices[3]] and train[3]["index"] == 3
    # ... and a clear error naming the file for any other
    with pytest.raises(ValueError, match=r"clustering_min\.json was selected from a source of 160"):
        build_datasets({**cfg["data"], "num_train": 200, "subset": str(tmp_path / "clustering_min.json")}, 0)
    other = dict(cfg["data"], num_train=160, data_seed=1)
    assert sample_list_hash(build_datasets(other, 0)[0]) != sample_list_hash(source)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        read_subset(broken)


@pytest.mark.e2e
def test_select_subset_tool_answers_help_and_writes_the_file(target, tmp_path):
    tool = str(REPO / "tools" / "select_subset.py")
    help_text = subprocess.run([sys.executable, tool, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--method" in help_text and "inverse_active" in help_text and "target_trained" in help_text
    out = tmp_path / "sub" / "random.json"
    done = subprocess.run([sys.executable, tool, SOURCE, "--target", str(target), "--method", "random",
                           "--fraction", "0.06", "--seed", "5", "--out", str(out),
                           "--cfg-options", "data.num_train=160"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    record = json.loads(out.read_text())
    assert (record["method"], record["fraction"], record["seed"], record["size"]) == ("random", 0.06, 5, 10)
    assert record["source"]["config"] == SOURCE and record["target"]["classes"] == ["circle", "cross", "square",
                                                                                    "triangle"]


def test_low_resolution_resizes_the_usual_crop_and_weights_the_cost_by_pixels():
    from pretrain.data import reference_image_size

    data = {"type": "synthetic", "num_train": 8, "num_val": 4, "image_size": 24, "render_size": 48}
    train, val = build_datasets(data, 0)
    assert train[(0, 0)]["inputs"].shape == (3, 24, 24) and val[0]["inputs"].shape == (3, 24, 24)
    assert train.images.shape[1:3] == (48, 48)  # rendered at 48: the same source as the 48 px runs
    assert reference_image_size(data) == 48
    assert reference_image_size({"type": "imagenet", "image_size": 112}) == 224
    assert reference_image_size({"type": "cifar10", "image_size": 32}) == 32


def test_export_cost_is_relative_to_the_whole_source_pixel_weighted_plus_selection():
    from pretrain.hook import meta_from_state

    state = {"history": [{}] * 4, "epochs": 4, "schedule_fraction": 1.0, "arm": {"name": "iid"},
             "forwards": 4 * 30, "backwards": 4 * 30, "wall_clock_s": 1.0, "last_metrics": {},
             "export_meta": {"source_size": 250, "pixel_scale": 0.25, "selection_cost": {"cost": 0.01}}}
    meta = meta_from_state(state, dataset_size=30)  # 30 of 250 source samples, 4 epochs, at half resolution
    assert meta["cost"] == pytest.approx(30 / 250)
    assert meta["cost_pixels"] == pytest.approx(30 / 250 / 4)
    assert meta["total_cost"] == pytest.approx(30 / 250 / 4 + 0.01)
    assert meta["iid_forwards"] == 1000


def test_a_vocdevkit_target_gives_its_training_images_without_labels(tmp_path):
    from pretrain.data import UNLABELLED, VOCImages, is_vocdevkit, target_images
    from transfer.synthetic import make_voc_scenes

    root = Path(make_voc_scenes(tmp_path / "voc", num_train=6, num_val=3)["root"])
    assert is_vocdevkit(root) and not is_vocdevkit(tmp_path)
    images = target_images(root, None, seed=0)
    assert isinstance(images, VOCImages) and images.classes == [UNLABELLED]
    # VOC2007 trainval (the scenes' detection list); VOC2012 has only the segmentation lists here
    stems = (root / "VOC2007" / "ImageSets" / "Main" / "trainval.txt").read_text().split()
    assert [Path(p).stem for p in images.samples] == stems and images.targets.tolist() == [0] * 6
    assert images.load(0).mode == "RGB"
    (root / "VOC2007" / "JPEGImages" / f"{stems[2]}.jpg").unlink()
    with pytest.raises(ValueError, match=f"trainval.txt lists {stems[2]}, but .*{stems[2]}.jpg does not exist"):
        VOCImages(root, None)


@pytest.mark.e2e
def test_selection_for_a_voc_target_reads_its_images_and_refuses_label_methods(tmp_path):
    from transfer.synthetic import make_voc_scenes

    torch.set_num_threads(1)
    root = make_voc_scenes(tmp_path / "voc", num_train=12, num_val=3)["root"]
    cfg = load_config(SOURCE, SMALL_SOURCE)
    for method in ("domain_classifier", "clustering_avg"):
        record = select_subset(cfg, SOURCE, root, method, 0.1, seed=0, k=4, feature_size=32)
        assert record["size"] == 16 and record["target"]["size"] == 12 and record["target"]["classes"] == ["unlabelled"]
        assert record["cost"]["forwards"] == 160 + 12
    for method, selector in (("active", "linear"), ("clustering_min", "target_trained")):
        with pytest.raises(ValueError, match=f"{method}.*trains on the target's classes.*VOCdevkit"):
            select_subset(cfg, SOURCE, root, method, 0.1, seed=0, k=4, feature_size=32, selector=selector)
