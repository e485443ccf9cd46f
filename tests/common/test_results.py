"""results.json schema: a valid object passes, each kind of breakage is named."""

from __future__ import annotations

import copy
import json

import pytest

from common.results import ResultsSchemaError, make_results, validate_results
from common.vocab import FAMILY_METRICS


def valid_results(task="fpn_tiny", family="detection") -> dict:
    return make_results(
        task=task, arm="dar", seed=1, backbone="/runs/dar/export",
        pretrain={"arch": "resnet18", "arm": "dar", "cost": 0.62},
        metrics={name: 0.25 for name in FAMILY_METRICS[family]},
        per_class={"IoU": {"road": 90.0, "wall": float("nan")}} if family.startswith("sem")
        else None,
        protocol={"norm_cfg": {"type": "BN", "requires_grad": True}, "norm_eval": True,
                  "frozen_stages": 1, "mean": [1, 2, 3], "std": [1, 1, 1], "max_iters": 4},
        config_hash="0123456789abcdef", versions={"torch": "2.4.1"}, wall_clock_s=12.0,
        work_dir="/tmp/run")


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
