"""Issue 22, item 4: the fine-grained tasks claim their work dir as the toolbox tasks do (a
finished result is never replaced without --overwrite, a resume with another config is
refused, naming the key) and stop at a non-finite loss, naming the task and where, without
writing results.json. Issue 24, item 1: they read the same TransferRequest through the same
preparation, so tools/transfer.py refuses a finished work dir in one line, and every flag is
honoured (--overwrite, --allow-unexpected-keys) or refused by name (--auto-scale-lr, --amp,
--schedule, --launcher)."""

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision

from common.workdir import WorkDirInUse
from pretrain.synthetic import write_shapes_folder
from transfer.contract import BackboneContractError
from transfer.request import TransferRequest
from transfer.run import run_transfer
from transfer.tasks import TASKS

REPO = Path(__file__).resolve().parents[2]

FAST = {"train.epochs": 1, "train.batch_size": 8}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("finegrained") / "shapes2"
    write_shapes_folder(root, 8, 4, 32, seed=1, classes=[0, 1])
    return root


def test_a_finished_result_is_not_replaced_by_another_config(target, tmp_path):
    work = tmp_path / "lin"
    run_transfer(TransferRequest("finegrained_linear_tiny", "none", work_dir=work, data_root=target, cfg_options=FAST))
    finished = (work / "results.json").read_text()
    with pytest.raises(WorkDirInUse, match="already holds a run; nothing was changed"):
        run_transfer(TransferRequest("finegrained_linear_tiny", "none", work_dir=work, data_root=target,
                                     cfg_options={**FAST, "train.lr": 0.5}))
    with pytest.raises(WorkDirInUse, match=r"--resume with a changed config: config\.train\.lr \(0\.1 -> 0\.5\)"):
        run_transfer(TransferRequest("finegrained_linear_tiny", "none", work_dir=work, data_root=target, resume=True,
                                     cfg_options={**FAST, "train.lr": 0.5}))
    assert (work / "results.json").read_text() == finished
    replaced = run_transfer(TransferRequest("finegrained_linear_tiny", "none", work_dir=work, data_root=target,
                                            overwrite=True,
                                            cfg_options={**FAST, "train.lr": 0.5}))
    assert json.loads((work / "results.json").read_text()) == replaced


def test_a_non_finite_loss_stops_the_run_naming_where(target, tmp_path):
    work = tmp_path / "fine"
    with pytest.raises(FloatingPointError, match=r"task finegrained_finetune_tiny: non-finite (training loss|weights)"):
        run_transfer(TransferRequest("finegrained_finetune_tiny", "none", work_dir=work, data_root=target,
                                     cfg_options={"train.epochs": 2, "train.batch_size": 4, "train.lr": 1e6}))
    assert not (work / "results.json").exists()


def transfer_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "tools" / "transfer.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=REPO, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})


def one_error_line(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr[-3000:]
    return errors[0]


@pytest.mark.e2e
def test_the_cli_refuses_a_finished_fine_grained_work_dir_in_one_line_and_overwrites_on_request(target, tmp_path):
    work = tmp_path / "lin"
    run_transfer(TransferRequest("finegrained_linear_tiny", "none", work_dir=work, data_root=target, cfg_options=FAST))
    finished = (work / "results.json").read_text()
    args = ["--task", "finegrained_linear_tiny", "--backbone", "none", "--work-dir", work, "--data-root", target,
            "--cfg-options", "train.epochs=1", "train.batch_size=8"]
    assert one_error_line(transfer_cli(*args)) == (
        f"error: {work} already holds a run; nothing was changed. Continue it with --resume, choose a new "
        "--work-dir, or replace it with --overwrite")
    assert (work / "results.json").read_text() == finished
    replaced = transfer_cli(*args, "--overwrite")
    assert replaced.returncode == 0, replaced.stderr[-3000:]
    assert json.loads(replaced.stdout) == json.loads((work / "results.json").read_text())["metrics"]
    assert json.loads((work / "results.json").read_text())["wall_clock_s"] != json.loads(finished)["wall_clock_s"]


@pytest.mark.e2e
def test_the_cli_stops_the_fine_grained_loop_at_a_non_finite_loss_in_one_line(target, tmp_path):
    line = one_error_line(transfer_cli("--task", "finegrained_finetune_tiny", "--backbone", "none", "--work-dir",
                                       tmp_path / "fine", "--data-root", target, "--cfg-options", "train.epochs=2",
                                       "train.batch_size=4", "train.lr=1000000.0"))
    assert re.match(r"error: task finegrained_finetune_tiny: non-finite (training loss .* at epoch \d, iteration \d"
                    r"|weights .* after epoch \d)", line), line
    assert f"in {tmp_path / 'fine'} are intact" in line and not (tmp_path / "fine" / "results.json").exists()


def test_a_flag_the_loop_cannot_honour_is_refused_by_name(target, tmp_path):
    work = tmp_path / "refused"
    config = re.escape(str(TASKS["finegrained_linear_tiny"].config))
    refusals = [({"auto_scale_lr": True}, f"--auto-scale-lr: {config} states no auto_scale_lr.base_batch_size"),
                ({"amp": True}, "--amp: task 'finegrained_linear_tiny' is a plain torchvision loop"),
                ({"schedule": "3x"}, r"--schedule 3x: task 'finegrained_linear_tiny' \(classification\) has no "
                                     "detection schedule"),
                ({"launcher": "pytorch"}, "task finegrained_linear_tiny runs in one process")]
    for flag, message in refusals:
        for dry_run in (True, False):
            with pytest.raises(ValueError, match=message):
                run_transfer(TransferRequest("finegrained_linear_tiny", "none", work_dir=work, data_root=target,
                                             cfg_options=FAST, dry_run=dry_run, **flag))
    assert not work.exists()


def test_allow_unexpected_keys_lets_another_architecture_pass_and_lists_its_tensors(target, tmp_path):
    path = tmp_path / "resnet34.pth"
    torch.save(torchvision.models.resnet34().state_dict(), path)  # a plain checkpoint, given as a resnet18
    request = TransferRequest("finegrained_linear_tiny", str(path), arch="resnet18", work_dir=tmp_path / "run",
                              data_root=target, cfg_options=FAST)
    with pytest.raises(BackboneContractError, match=r"modules of the backbone that the model does not have, e.g. "
                                                    r"layer1.2.bn1.bias.*--allow-unexpected-keys"):
        run_transfer(request)
    assert not (tmp_path / "run").exists()
    results = run_transfer(replace(request, allow_unexpected_keys=True))
    contract = results["backbone_contract"]
    assert contract["tensors_loaded"] == 100 and "layer3.5.conv2.weight" in contract["unexpected_keys"]
    assert results == json.loads((tmp_path / "run" / "results.json").read_text())
