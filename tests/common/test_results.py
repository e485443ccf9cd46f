"""results.json schema: a valid object passes, each kind of breakage is named."""

from __future__ import annotations

import copy
import json

import pytest

from common.results import ResultsSchemaError, TransferResults, validate_results
from common.vocab import FAMILY_METRICS


def valid_results(task="fpn_tiny", family="detection") -> dict:
    return TransferResults(
        task=task, arm="dar", seed=1, backbone="/runs/dar/export",
        pretrain={"arch": "resnet18", "arm": "dar", "cost": 0.62},
        metrics={name: 0.25 for name in FAMILY_METRICS[family]},
        per_class={"IoU": {"road": 90.0, "wall": float("nan")}} if family.startswith("sem")
        else None,
        protocol={"norm_cfg": {"type": "BN", "requires_grad": True}, "norm_eval": True,
                  "frozen_stages": 1, "mean": [1, 2, 3], "std": [1, 1, 1], "max_iters": 4},
        config_hash="0123456789abcdef", versions={"torch": "2.4.1"}, wall_clock_s=12.0,
        work_dir="/tmp/run").to_json()


def test_valid_results_pass_and_are_json():
    results = valid_results()
    validate_results(json.loads(json.dumps(results, allow_nan=False)))


def test_nan_per_class_becomes_null():
    results = valid_results("pspnet_tiny", "semantic_segmentation")
    assert results["per_class"]["IoU"] == {"road": 90.0, "wall": None}
    validate_results(results)


@pytest.mark.parametrize("breakage, message", [
    (lambda r: r.pop("metrics"), "missing key 'metrics'"),
    (lambda r: r["metrics"].pop("coco/bbox_mAP_75"), r"metrics lack \['coco/bbox_mAP_75'\]"),
    (lambda r: r["metrics"].update({"coco/bbox_mAP": float("nan")}), "finite number"),
    (lambda r: r["metrics"].update({"coco/bbox_mAP": "0.3"}), "finite number"),
    (lambda r: r.update(task="yolo"), "task 'yolo' is not one of"),
    (lambda r: r.update(seed="1"), "seed must be an int"),
    (lambda r: r["pretrain"].pop("cost"), "pretrain lacks 'cost'"),
    (lambda r: r["pretrain"].update(arm="iid"), "differs from pretrain.arm"),
    (lambda r: r["protocol"].pop("norm_eval"), r"protocol lacks \['norm_eval'\]"),
    (lambda r: r["protocol"].pop("max_iters"), "max_iters or max_epochs"),
    (lambda r: r.update(config_hash="xyz"), "config_hash must be 16 hex digits"),
    (lambda r: r.update(wall_clock_s=-1), "wall_clock_s"),
    (lambda r: r.update(format="v0"), "format is 'v0'"),
])
def test_breakages_are_named(breakage, message):
    results = copy.deepcopy(valid_results())
    breakage(results)
    with pytest.raises(ResultsSchemaError, match=message):
        validate_results(results)


def test_random_init_rules():
    results = valid_results()
    results.update(arm="random_init", backbone="none")
    results["pretrain"].update(arm="random_init", cost=0.0)
    validate_results(results)
    results["pretrain"]["cost"] = 1.0
    with pytest.raises(ResultsSchemaError, match="random_init arm must have pretrain.cost 0.0"):
        validate_results(results)
    results["pretrain"]["cost"] = 0.0
    results["backbone"] = "/some/export"
    with pytest.raises(ResultsSchemaError, match="backbone 'none' goes with arm 'random_init'"):
        validate_results(results)


def test_semantic_segmentation_needs_per_class():
    results = valid_results("pspnet_tiny", "semantic_segmentation")
    del results["per_class"]
    with pytest.raises(ResultsSchemaError, match="per_class"):
        validate_results(results)


def test_not_a_dict():
    with pytest.raises(ResultsSchemaError, match="must be a dict"):
        validate_results([])


def test_protocol_schedule_and_train_iters_are_checked_when_present():
    good = valid_results()
    validate_results(good)  # files written before schedules existed have neither key
    validate_results({**good, "protocol": {**good["protocol"], "schedule": "6x", "train_iters": 540000}})
    with pytest.raises(ResultsSchemaError, match="protocol.schedule must be one of"):
        validate_results({**good, "protocol": {**good["protocol"], "schedule": "4x"}})
    with pytest.raises(ResultsSchemaError, match="protocol.train_iters"):
        validate_results({**good, "protocol": {**good["protocol"], "train_iters": -1}})


def test_the_file_round_trips_through_the_dataclass_unchanged():
    for task, family in (("fpn_tiny", "detection"), ("pspnet_tiny", "semantic_segmentation")):
        written = valid_results(task, family)
        text = json.dumps(written, indent=2)
        read = TransferResults.from_json(json.loads(text))
        assert json.dumps(read.to_json(), indent=2) == text  # same keys, order and values
    assert list(valid_results()) == ["format", "task", "arm", "seed", "backbone", "pretrain", "metrics",
                                     "protocol", "config_hash", "versions", "wall_clock_s", "work_dir"]


def test_a_complete_read_demands_the_schema_and_an_incomplete_one_what_names_the_run():
    hand_made = {"format": "transfer-suite/results/v1", "task": "pspnet_tiny", "arm": "iid", "seed": 0,
                 "pretrain": {"arch": "resnet18"}, "metrics": {"mIoU": 50.0}}
    with pytest.raises(ResultsSchemaError, match="missing key 'backbone'"):
        TransferResults.from_json(hand_made)
    read = TransferResults.from_json(hand_made, complete=False)
    assert (read.task, read.seed, read.protocol, read.config_hash) == ("pspnet_tiny", 0, {}, None)
    with pytest.raises(ResultsSchemaError, match="results.json: seed must be an int, got '0'"):
        TransferResults.from_json({**hand_made, "seed": "0"}, complete=False)
    with pytest.raises(ResultsSchemaError, match="pretrain.cost must be a number"):
        TransferResults.from_json({**hand_made, "pretrain": {"arch": "resnet18", "cost": "high"}}, complete=False)
    with pytest.raises(ResultsSchemaError, match="must be a dict, got list"):
        TransferResults.from_json([], complete=False)


def test_files_written_before_schedules_and_train_iters_read_as_1x_and_max_iters():
    old = TransferResults.from_json(valid_results())  # detection, protocol without schedule and train_iters
    assert (old.schedule, old.iterations) == ("1x", 4)
    new = TransferResults.from_json({**valid_results(), "protocol": {**valid_results()["protocol"],
                                                                     "schedule": "3x", "train_iters": 9}})
    assert (new.schedule, new.iterations) == ("3x", 9)
    assert TransferResults.from_json(valid_results("pspnet_tiny", "semantic_segmentation")).schedule is None
