"""Item 1: which checkpoint a resume uses when the pointer is missing, empty, behind or points at
a damaged file; file modes; leftover temporaries; old checkpoints removed only after the new
one is complete (the kills themselves: test_fault_injection.py)."""

import os
from pathlib import Path

import torch

from common.checkpoints import POINTER, is_intact, latest_intact_checkpoint
from common.files import atomic_path, remove_leftover_temporaries, write_json_atomic
from pretrain.config import load_config
from pretrain.trainer import build_runner, train

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
FAST = {"arch": "resnet10", "data.num_train": 32, "data.num_val": 8, "data.image_size": 16, "train.epochs": 3,
        "train.batch_size": 16, "train.milestones": [2], "val_interval": 3, "deterministic": True,
        "max_keep_ckpts": 1}


def checkpoints(tmp_path: Path, *steps: int) -> list[Path]:
    paths = []
    for step in steps:
        path = tmp_path / f"epoch_{step}.pth"
        torch.save({"step": step, "weights": torch.arange(1000.0)}, path)
        paths.append(path)
    return paths


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_resume_uses_the_pointer_when_it_is_right(tmp_path):
    _, newest = checkpoints(tmp_path, 1, 2)
    (tmp_path / POINTER).write_text(str(newest))
    said = []
    assert latest_intact_checkpoint(tmp_path, said.append) == str(newest) and not said


def test_a_missing_or_empty_pointer_falls_back_to_the_newest_checkpoint_and_says_so(tmp_path):
    _, newest = checkpoints(tmp_path, 1, 2)
    said = []
    assert latest_intact_checkpoint(tmp_path, said.append) == str(newest)
    assert "last_checkpoint is missing" in said[0]
    (tmp_path / POINTER).write_text("")  # what a kill during mmengine's own pointer write left
    said.clear()
    assert latest_intact_checkpoint(tmp_path, said.append) == str(newest)
    assert "is empty" in said[0] and str(newest) in said[0]


def test_a_damaged_checkpoint_is_skipped_for_the_newest_intact_one(tmp_path):
    older, newest = checkpoints(tmp_path, 1, 2)
    (tmp_path / POINTER).write_text(str(newest))
    newest.write_bytes(newest.read_bytes()[:300])  # truncated
    assert not is_intact(newest) and is_intact(older)
    said = []
    assert latest_intact_checkpoint(tmp_path, said.append) == str(older)
    assert any("damaged" in m and "epoch_2.pth" in m for m in said)
    older.write_bytes(b"")
    assert latest_intact_checkpoint(tmp_path, said.append) is None
    assert "no intact checkpoint" in said[-1]


def test_a_pointer_left_behind_by_a_kill_is_overtaken_by_the_newer_complete_checkpoint(tmp_path):
    older, newest = checkpoints(tmp_path, 3, 4)
    (tmp_path / POINTER).write_text(str(older))  # killed after epoch_4's rename, before the pointer
    said = []
    assert latest_intact_checkpoint(tmp_path, said.append) == str(newest)
    assert "points at" in said[0] and "epoch_4.pth" in said[0]


def test_atomic_files_get_the_usual_mode_and_their_leftovers_are_removed(tmp_path):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o666 & ~umask()
    with atomic_path(tmp_path / "b.pth") as tmp:
        tmp.write_bytes(b"whole")
        assert tmp.name.startswith(".b.pth.") and tmp.name.endswith(".tmp")
    (tmp_path / ".b.pth.k1ll3d.tmp").write_bytes(b"ha")  # what a writer killed mid-write leaves
    assert remove_leftover_temporaries(tmp_path) == [tmp_path / ".b.pth.k1ll3d.tmp"]
    assert (tmp_path / "b.pth").read_bytes() == b"whole" and not list(tmp_path.glob(".*.tmp"))


def test_a_real_run_with_max_keep_one_keeps_one_complete_checkpoint_and_resumes_from_an_empty_pointer(tmp_path):
    cfg = load_config(TINY, FAST)
    runner = build_runner(cfg, str(tmp_path))
    runner.train()
    assert sorted(p.name for p in tmp_path.glob("*.pth")) == ["epoch_3.pth"]
    assert Path((tmp_path / POINTER).read_text()).name == "epoch_3.pth"
    assert (tmp_path / "epoch_3.pth").stat().st_mode & 0o777 == 0o666 & ~umask()
    export = tmp_path / "export" / "backbone.pth"
    assert export.stat().st_mode & 0o777 == 0o666 & ~umask()
    (tmp_path / POINTER).write_text("")  # mmengine's own hook could leave this; ours cannot
    meta = train(load_config(TINY, FAST), str(tmp_path), resume=True)
    assert meta["epochs"] == 3  # resumed at the end: nothing retrained, export rewritten
