"""The fine-grained classification tasks (finegrained_finetune / finegrained_linear): listed by
tools/transfer.py, run through run_transfer on a generated ImageFolder target, results.json in
the common schema, the backbone contract, resume, and bad data named."""

import json
import shutil

import pytest
import torch
from mmengine.config import Config

from common.results import validate_results
from common.workdir import WorkDirInUse
from pretrain.synthetic import write_shapes_folder
from transfer.contract import BackboneContractError
from transfer.request import TransferRequest
from transfer.run import run_transfer
from transfer.tasks import TASKS

from .conftest import make_export


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("finegrained") / "shapes4"
    write_shapes_folder(root, 32, 16, 48, seed=3, classes=[0, 1, 2, 3])
    return root


def test_both_tasks_and_their_tiny_variants_use_the_torchvision_loop():
    for name in ("finegrained_finetune", "finegrained_linear", "finegrained_finetune_tiny",
                 "finegrained_linear_tiny"):
        task = TASKS[name]
        cfg = Config.fromfile(str(task.config))
        assert task.scope == cfg.default_scope == "torchvision" and task.family == "classification"
        assert cfg.mode == name.split("_")[1] and cfg.arch == ("resnet18" if name.endswith("_tiny") else "resnet34")
    assert Config.fromfile(str(TASKS["finegrained_finetune"].config)).train.epochs == 90


def test_dry_run_checks_the_contract_without_data(export_r18):
    summary = run_transfer(TransferRequest("finegrained_finetune_tiny", str(export_r18), dry_run=True))
    assert summary["backbone_tensors_verified"] == 100 and summary["arch"] == "resnet18"
    assert summary["protocol"]["mode"] == "finetune" and summary["protocol"]["frozen_stages"] == -1


def test_arch_mismatch_is_a_contract_error(tmp_path):
    export = make_export(tmp_path / "r34", "resnet34")
    with pytest.raises(BackboneContractError, match="resnet34 but task 'finegrained_linear_tiny' builds a resnet18"):
        run_transfer(TransferRequest("finegrained_linear_tiny", str(export), dry_run=True))


@pytest.mark.e2e
def test_linear_probe_keeps_the_backbone_and_writes_results(export_r18, target, tmp_path):
    results = run_transfer(TransferRequest("finegrained_linear_tiny", str(export_r18), work_dir=tmp_path / "lin",
                                           data_root=target, cfg_options={"train.epochs": 3}))
    validate_results(results)
    assert results == json.loads((tmp_path / "lin" / "results.json").read_text())
    assert set(results["metrics"]) == {"top1", "top5"} and 0 <= results["metrics"]["top1"] <= 100
    assert results["metrics"]["top5"] == 100.0  # 4 classes: every label is in the top 5
    assert results["backbone_contract"]["tensors_loaded"] == 100
    assert results["protocol"]["data_root"] == str(target) and results["protocol"]["norm_eval"] is True
    assert "verified unchanged" in results["notes"][0]


@pytest.mark.e2e
def test_fine_tuning_refuses_to_resume_with_another_config(target, tmp_path):
    # the fine-grained tasks claim their work dir like every other task (issue 22): a checkpoint
    # would train on with the old epochs while the outputs recorded the new ones
    first = run_transfer(TransferRequest("finegrained_finetune_tiny", "none", work_dir=tmp_path / "ft",
                                         data_root=target,
                                         cfg_options={"train.epochs": 1, "train.milestones": [1]}))
    assert first["arm"] == "random_init" and first["pretrain"]["cost"] == 0.0
    with pytest.raises(WorkDirInUse, match=r"train.epochs \(1 -> 2\)"):
        run_transfer(TransferRequest("finegrained_finetune_tiny", "none", work_dir=tmp_path / "ft", data_root=target,
                                     cfg_options={"train.epochs": 2, "train.milestones": [1]}, resume=True))


def test_missing_split_is_an_error_naming_the_folder(export_r18, target, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(target / "train", broken / "train")
    with pytest.raises(FileNotFoundError, match=f"{broken / 'val'} not found"):
        run_transfer(TransferRequest("finegrained_linear_tiny", str(export_r18), work_dir=tmp_path / "w",
                                     data_root=broken))
    with pytest.raises(KeyError, match=r"unknown key\(s\) \['train.warmup'\]"):
        run_transfer(TransferRequest("finegrained_linear_tiny", str(export_r18), dry_run=True,
                                     cfg_options={"train.warmup": 1}))


def test_the_optimizer_is_sgd_by_default_and_adam_on_request():
    from transfer.classification import build_optimizer, optimizer_record
    cfg = Config(dict(train=dict(lr=1e-4, momentum=0.9, weight_decay=1e-4)))
    params = [torch.nn.Parameter(torch.zeros(2))]
    assert isinstance(build_optimizer(params, cfg.train), torch.optim.SGD)
    assert optimizer_record(cfg.train)["type"] == "SGD"
    cfg.train.optimizer = "adam"
    adam = build_optimizer(params, cfg.train)
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["lr"] == 1e-4
    assert optimizer_record(cfg.train) == {"type": "Adam", "lr": 1e-4, "weight_decay": 1e-4}


def test_an_unknown_optimizer_is_named(tmp_path):
    from transfer.classification import load_task_config
    with pytest.raises(ValueError, match="train.optimizer must be one of"):
        load_task_config(TASKS["finegrained_finetune_tiny"].config, {"train.optimizer": "lamb"})
