"""Item 2: a finished run is never overwritten silently, and `--resume` never continues a run
with another config, in both stages (common.workdir)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from common.workdir import WorkDirInUse, changed_keys, claim_work_dir
from pretrain.config import load_config
from pretrain.trainer import train
from transfer.build import build_run
from transfer.data import DataError
from transfer.request import TransferRequest
from transfer.run import run_record, run_transfer

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_iid.py")
FAST = {"arch": "resnet10", "data.num_train": 32, "data.num_val": 8, "data.image_size": 16, "train.epochs": 1,
        "train.batch_size": 16, "train.milestones": [], "val_interval": 1}


def test_changed_keys_are_named_at_every_depth():
    assert changed_keys({"a": {"b": 1, "c": 2}}, {"a": {"b": 3}, "d": 4}) == [
        "a.b (1 -> 3)", "a.c (removed, was 2)", "d (added: 4)"]


def test_a_finished_pretraining_is_neither_overwritten_nor_resumed_with_another_config(tmp_path):
    train(load_config(TINY, FAST), str(tmp_path))
    export = tmp_path / "export" / "backbone.pth"
    before = export.read_bytes()
    with pytest.raises(WorkDirInUse, match="--resume.*--work-dir.*--overwrite"):
        train(load_config(TINY, FAST), str(tmp_path))
    with pytest.raises(WorkDirInUse, match=r"train.lr \(0.02 -> 0.5\)"):
        train(load_config(TINY, {**FAST, "train.lr": 0.5}), str(tmp_path), resume=True)
    assert export.read_bytes() == before  # nothing was touched
    assert json.loads((tmp_path / "config.json").read_text())["train"]["lr"] == 0.02
    meta = train(load_config(TINY, {**FAST, "train.lr": 0.5}), str(tmp_path), overwrite=True)
    assert meta["epochs"] == 1 and json.loads((tmp_path / "config.json").read_text())["train"]["lr"] == 0.5


@pytest.mark.e2e
def test_the_cli_refuses_in_one_sentence(tmp_path):
    claim_work_dir(tmp_path, {"arch": "resnet10"}, resume=False, overwrite=False)
    (tmp_path / "epoch_1.pth").write_bytes(b"stands for the checkpoint of the run that was here")
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "pretrain.py"), TINY, "--work-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr  # bad input: exit 2 (common.errors)
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path} already holds a run")


def test_a_transfer_run_checks_its_work_dir_the_same_way(tmp_path):
    work = tmp_path / "run"
    options = {"train_cfg.max_iters": 1}
    # a run stopped at its data check writes nothing, and nothing blocks the next attempt
    for _ in range(2):
        with pytest.raises(DataError):
            run_transfer(TransferRequest("pspnet_tiny", "none", work_dir=work, cfg_options=options,
                                         data_root=tmp_path / "nowhere"))
    assert not work.exists()
    # a run that began with these options (its config recorded) and stopped after a checkpoint
    spec = build_run(TransferRequest("pspnet_tiny", "none", work_dir=work, cfg_options=options))
    claim_work_dir(work, run_record(spec), resume=False, overwrite=False)
    (work / "iter_1.pth").write_bytes(b"stands for the checkpoint of the stopped run")
    with pytest.raises(WorkDirInUse, match="already holds a run"):
        run_transfer(TransferRequest("pspnet_tiny", "none", work_dir=work, cfg_options=options))
    with pytest.raises(WorkDirInUse, match=r"config.train_cfg.max_iters \(1 -> 2\)"):
        run_transfer(TransferRequest("pspnet_tiny", "none", work_dir=work, cfg_options={"train_cfg.max_iters": 2},
                                     resume=True))
    with pytest.raises(WorkDirInUse, match=r"seed \(0 -> 1\)"):
        run_transfer(TransferRequest("pspnet_tiny", "none", work_dir=work, cfg_options=options, resume=True, seed=1))
