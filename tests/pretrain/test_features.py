"""Penultimate features of an export, and the t-SNE figure built from them (tools/tsne.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from common.backbone import BackboneExport, load_backbone, write_export
from pretrain.data import build_datasets
from pretrain.features import load_feature_network, penultimate_features
from pretrain.models import build_network

REPO = Path(__file__).resolve().parents[2]
META = {"arm": "iid", "arm_params": {}, "dataset": "synthetic", "num_classes": 8, "epochs": 1, "seed": 0,
        "cost": 1.0, "forwards": 1, "iid_forwards": 1, "wall_clock_s": 0.0, "top1": 0.0, "top5": 0.0,
        "config_hash": "0" * 16, "versions": {}, "normalization": None}


def export(path: Path, arch: str = "resnet18", arm: str = "iid") -> Path:
    torch.manual_seed(0)
    meta = BackboneExport.from_json({**META, "arch": arch, "arm": arm})
    write_export(path, build_network(arch, 8).state_dict(), meta)
    return path


def test_features_are_the_pooled_output_the_classifier_read(tmp_path):
    net, _ = load_feature_network(export(tmp_path / "e"))
    _, val = build_datasets(dict(type="synthetic", num_train=8, num_val=12, image_size=32), 0)
    features, labels = penultimate_features(net, val, batch_size=5)
    assert features.shape == (12, 512) and labels.shape == (12,)
    full = build_network("resnet18", 8).eval()
    full.load_state_dict({**load_backbone(tmp_path / "e")[0], **{k: v for k, v in full.state_dict().items()
                                                              if k.startswith("fc.")}}, strict=False)
    with torch.no_grad():
        logits = full(torch.stack([val[i]["inputs"] for i in range(12)]))
    assert torch.allclose(torch.from_numpy(features) @ full.fc.weight.T + full.fc.bias, logits, atol=1e-4)


def test_an_export_of_another_arch_is_refused(tmp_path):
    path = export(tmp_path / "e", "resnet34")
    meta = (path / "backbone.json").read_text().replace('"resnet34"', '"resnet18"')
    (path / "backbone.json").write_text(meta)
    with pytest.raises(KeyError, match="does not fit a resnet18"):
        load_feature_network(path)


@pytest.mark.e2e
def test_tsne_tool_draws_one_panel_per_export(tmp_path):
    a, b = export(tmp_path / "iid"), export(tmp_path / "dar", arm="dar")
    out = tmp_path / "tsne.png"
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "tsne.py"), str(a), str(b), "--dataset",
                           "synthetic", "--num-samples", "60", "--image-size", "32", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.stat().st_size > 10_000 and "60 features of dimension 512" in proc.stderr
