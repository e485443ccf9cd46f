"""backbone.json as common.backbone.BackboneExport: written and read back byte for byte, files of
older versions read by the rules in one place, a broken file refused in one line naming it."""

from __future__ import annotations

import dataclasses
import json

import pytest
import torch

from common.backbone import (
    IMAGENET_NORMALIZATION,
    KEY_ORDER,
    REQUIRED_META,
    BackboneExport,
    BackboneSchemaError,
    MethodShown,
    load_backbone,
    trained_norm,
    write_export,
)
from common.vocab import BACKBONE_FORMAT, UNRANKED

WEIGHTS = {"conv1.weight": torch.ones(2, 3, 1, 1), "fc.weight": torch.ones(4, 2)}


def stage1_meta(**changes) -> dict:
    """Stage 1's metadata as pretrain.trainer and pretrain.hook assemble it (their key order)."""
    meta = {
        "arch": "resnet18", "norm": "bn", "norm_groups": None, "dataset": "synthetic", "num_classes": 8,
        "seed": 1, "replicate": 0, "label": "dar", "control_of": None, "method_label": "DaR",
        "method_order": 20, "augment": {"randaugment": None, "mix": None, "mix_alpha": 0.3},
        "world_size": 1, "batch_size_per_process": 64, "global_batch_size": 64, "amp": False,
        "amp_dtype": None, "objective": {"name": "supervised"}, "forward_passes": 1,
        "config_hash": "aec778a5368d7591", "versions": {"torch": "2.4.1"},
        "normalization": IMAGENET_NORMALIZATION, "image_size": 32, "reference_image_size": 32,
        "pixel_scale": 1.0, "source_size": 256, "arm": "dar", "method": "dar", "arm_params": {"ratio": 0.5},
        "epochs": 2, "cost": 0.75, "cost_pixels": 0.75, "total_cost": 0.75, "forwards": 384, "backwards": 384,
        "iid_forwards": 512, "wall_clock_s": 4.2, "top1": 10.9375, "top5": 67.1875,
        "metrics": {"top1": 10.9375, "top5": 67.1875},
        "history": [{"epoch": 1, "fraction": 1.0}, {"epoch": 2, "fraction": 0.5}],
        "timing": {"total_s": 4.5},
    }
    return {**meta, **changes}


def as_file(obj: dict) -> str:
    """The bytes common.files.write_json_atomic writes for `obj`."""
    return json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n"


def test_an_export_written_and_read_back_is_the_same_file_byte_for_byte(tmp_path):
    write_export(tmp_path, WEIGHTS, BackboneExport.from_json(stage1_meta()))
    written = (tmp_path / "backbone.json").read_text()
    assert list(json.loads(written)) == ["format", *stage1_meta()]  # the writer's order, format first
    again = BackboneExport.from_json(json.loads(written), source=str(tmp_path / "backbone.json"))
    assert as_file(again.to_json()) == written
    state, meta = load_backbone(tmp_path)
    assert list(state) == ["conv1.weight"]  # classifier stripped
    assert as_file({k: v for k, v in meta.items() if k != "path"}) == written
    assert meta["path"] == str(tmp_path / "backbone.pth")


def test_keys_come_out_in_the_schemas_order_whatever_order_they_were_given_in():
    shuffled = dict(reversed(list(stage1_meta(my_new_key=1).items())))
    keys = list(BackboneExport.from_json(shuffled).to_json())
    assert keys == [k for k in KEY_ORDER if k in keys] + ["my_new_key"]  # an unknown key goes last


def test_an_older_export_without_the_newest_keys_reads_by_the_compatibility_rules(tmp_path):
    older = {k: v for k, v in stage1_meta().items()
             if k in REQUIRED_META or k in ("method", "metrics", "history")}  # no method_label, replicate, norm
    (tmp_path / "backbone.json").write_text(json.dumps({"format": BACKBONE_FORMAT, **older}))
    torch.save(WEIGHTS, tmp_path / "backbone.pth")
    _, meta = load_backbone(tmp_path)
    assert {k: v for k, v in meta.items() if k != "path"} == {"format": BACKBONE_FORMAT, **older}  # nothing added
    export = BackboneExport.from_json(older)
    assert export.method_shown is None  # gather falls back to common.vocab.EARLIER_METHOD_LABELS
    assert export.replicate == 1  # no `replicate`: the seed pairs the runs
    assert trained_norm(older) == ("bn", None)  # written before GroupNorm: BatchNorm
    assert trained_norm(stage1_meta(norm="gn", norm_groups=16)) == ("gn", 16)
    current = BackboneExport.from_json(stage1_meta())
    assert (current.method_shown, current.replicate) == (MethodShown("dar", "DaR", 20), 0)
    assert BackboneExport.from_json(stage1_meta(method_order=None)).method_shown.order == UNRANKED


def test_a_reader_of_hand_made_files_needs_only_what_names_the_run():
    export = BackboneExport.from_json({"arch": "resnet10", "arm": "dar", "dataset": "imagenet_lt"}, complete=False)
    assert (export.seed, export.cost, export.metrics, export.history) == (None, None, {}, [])
    with pytest.raises(BackboneSchemaError, match=r"^backbone metadata backbone.json: 'dataset' must be a "
                                                  r"non-empty string, got None$"):
        BackboneExport.from_json({"arch": "resnet10", "arm": "dar"}, complete=False)


def test_a_missing_required_key_is_one_line_naming_the_key_and_the_file(tmp_path):
    meta = stage1_meta()
    del meta["versions"]
    (tmp_path / "backbone.json").write_text(json.dumps(meta))
    torch.save(WEIGHTS, tmp_path / "backbone.pth")
    with pytest.raises(ValueError) as caught:
        load_backbone(tmp_path)
    assert str(caught.value) == f"backbone metadata {tmp_path / 'backbone.json'} lacks keys ['versions']"


@pytest.mark.parametrize("changes, message", [
    ({"cost": None}, "'cost' must be a number >= 0, got None"),
    ({"cost": -0.5}, "'cost' must be a number >= 0, got -0.5"),
    ({"seed": "0"}, "'seed' must be an int or null, got '0'"),
    ({"arch": ""}, "'arch' must be a non-empty string, got ''"),
    ({"format": "transfer-suite/backbone/v0"}, "format is 'transfer-suite/backbone/v0'"),
])
def test_a_writer_never_writes_an_export_its_readers_refuse(tmp_path, changes, message):
    broken = dataclasses.replace(BackboneExport.from_json(stage1_meta()), **changes)
    with pytest.raises(BackboneSchemaError, match=message) as caught:
        write_export(tmp_path / "export", WEIGHTS, broken)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "export").exists()  # refused before anything is written
