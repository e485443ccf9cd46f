"""Datasets: deterministic per-sample augmentation, the embedded set's mix, and bad data that
fails with the file's name."""

import numpy as np
import pytest
import torch
from PIL import Image

from pretrain.data import (
    CIFAR_MEAN,
    CIFAR_NORMALIZATION,
    CIFAR_STD,
    Cifar,
    ImageFolder,
    ListDataset,
    SyntheticShapes,
    build_datasets,
    build_transform,
    shot_groups,
)
from pretrain.synthetic import CLASSES, KINDS, make_shapes

TRAIN = build_transform("cifar", True, 32, CIFAR_MEAN, CIFAR_STD)


def test_synthetic_set_is_deterministic_balanced_and_mixed():
    a, b = make_shapes(400, 32, seed=3), make_shapes(400, 32, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    images, labels, kinds = a
    assert images.shape == (400, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [50] * len(CLASSES)
    shares = np.bincount(kinds, minlength=len(KINDS)) / 400
    assert shares == pytest.approx([0.5, 0.3, 0.2], abs=0.08)
    assert not np.array_equal(images, make_shapes(400, 32, seed=4)[0])


def test_augmentation_depends_on_seed_epoch_index_only_and_spares_the_global_rng():
    ds = SyntheticShapes(16, 32, TRAIN, data_seed=0, seed=1)
    state = torch.get_rng_state()
    x1 = ds[(5, 2)]["inputs"]
    torch.manual_seed(123)  # global state must not matter
    x2 = ds[(5, 2)]["inputs"]
    assert torch.equal(x1, x2)
    assert not torch.equal(x1, ds[(5, 3)]["inputs"])  # another epoch, another crop/flip
    torch.set_rng_state(state)
    ds[(5, 2)]
    assert torch.equal(state, torch.get_rng_state())
    item = ds[(5, 2)]
    assert item["index"] == 5 and item["label"] == int(ds.targets[5])


def _folder(tmp_path, classes):
    for name, files in classes.items():
        (tmp_path / name).mkdir(parents=True)
        for f in files:
            Image.new("RGB", (32, 32), (10, 20, 30)).save(tmp_path / name / f)
    return tmp_path


def test_image_folder_reads_classes_in_order(tmp_path):
    ds = ImageFolder(str(_folder(tmp_path, {"b": ["1.png"], "a": ["1.png", "2.png"]})), TRAIN)
    assert ds.classes == ["a", "b"] and ds.targets.tolist() == [0, 0, 1]
    assert ds[0]["inputs"].shape == (3, 32, 32)


def test_bad_data_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        ImageFolder(str(tmp_path / "nowhere"), TRAIN)
    root = _folder(tmp_path / "set", {"a": ["1.png"]})
    (root / "empty").mkdir()
    with pytest.raises(ValueError, match="empty holds no images"):
        ImageFolder(str(root), TRAIN)
    (root / "empty").rmdir()
    (root / "a" / "2.png").write_bytes(b"not a png")
    ds = ImageFolder(str(root), TRAIN)
    with pytest.raises(ValueError, match=r"corrupt or unreadable image: .*2\.png"):
        ds[1]
    (root / "a" / "1.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"image file missing: .*1\.png"):
        ds[0]


def test_split_list_and_shot_groups(tmp_path):
    root = _folder(tmp_path / "img", {"n1": ["x.png"]})
    listing = tmp_path / "train.txt"
    listing.write_text("n1/x.png 3\n")
    ds = ListDataset(str(root), str(listing), TRAIN, num_classes=5)
    assert ds.targets.tolist() == [3] and ds[0]["label"] == 3
    listing.write_text("n1/x.png three\n")
    with pytest.raises(ValueError, match=r"train.txt:1"):
        ListDataset(str(root), str(listing), TRAIN)
    targets = np.repeat([0, 1, 2], [150, 50, 5])
    assert shot_groups(targets, 4).tolist() == [0, 1, 2, 2]  # class 3: no images = few


def test_missing_cifar_and_unknown_type_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="cifar10 not found"):
        Cifar(str(tmp_path), "cifar10", True, TRAIN)
    with pytest.raises(ValueError, match="unknown data.type 'mnist'"):
        build_datasets({"type": "mnist", "image_size": 28}, seed=0)


def test_each_cifar_normalizes_with_its_own_channel_statistics():
    assert CIFAR_NORMALIZATION["cifar10"] == (CIFAR_MEAN, CIFAR_STD)
    mean, std = CIFAR_NORMALIZATION["cifar100"]
    assert mean == (0.5071, 0.4865, 0.4409) and std == (0.2673, 0.2564, 0.2762)
