"""The backbone contract: exact key/shape checks and the post-init equality check."""

from __future__ import annotations

import pytest
import torch
import torchvision

from transfer.build import build_in_scope
from transfer.contract import (
    BackboneContractError,
    arch_of_backbone_cfg,
    check_arch,
    check_backbone_state,
    verify_backbone_equals,
)


@pytest.fixture(scope="module")
def tv_state() -> dict:
    state = torchvision.models.resnet18().state_dict()
    return {k: v for k, v in state.items()
            if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}


@pytest.fixture(scope="module")
def mmdet_r18():
    return build_in_scope(dict(type="ResNet", depth=18, norm_eval=True, frozen_stages=1),
                          "mmdet")


def test_torchvision_layout_fills_every_toolbox_resnet(tv_state):
    for scope, extra in [("mmdet", {}), ("mmpose", {}),
                         ("mmseg", dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                                        contract_dilation=True))]:
        backbone = build_in_scope(dict(type="ResNet", depth=18, **extra), scope)
        report = check_backbone_state(backbone.state_dict(), tv_state)
        assert report["unexpected"] == []
        assert len(report["loaded"]) == len(tv_state) == 100


def test_missing_key_is_an_error_naming_it(mmdet_r18, tv_state):
    partial = dict(tv_state)
    del partial["layer3.1.bn2.running_var"]
    with pytest.raises(BackboneContractError, match=r"layer3\.1\.bn2\.running_var"):
        check_backbone_state(mmdet_r18.state_dict(), partial, source="ckpt.pth")


def test_shape_mismatch_is_an_error_naming_it(mmdet_r18, tv_state):
    wrong = dict(tv_state, **{"conv1.weight": torch.zeros(64, 3, 3, 3)})
    with pytest.raises(BackboneContractError, match=r"conv1\.weight: checkpoint \(64, 3, 3, 3\)"):
        check_backbone_state(mmdet_r18.state_dict(), wrong)


def test_unexpected_keys_are_listed(mmdet_r18, tv_state):
    extra = dict(tv_state, **{"fc.weight": torch.zeros(10, 512),
                              "projector.0.bias": torch.zeros(4)})
    report = check_backbone_state(mmdet_r18.state_dict(), extra)
    assert report["unexpected"] == ["fc.weight", "projector.0.bias"]


def test_num_batches_tracked_is_not_required(mmdet_r18, tv_state):
    assert any(k.endswith("num_batches_tracked") for k in mmdet_r18.state_dict())
    assert all(not k.endswith("num_batches_tracked") for k in tv_state)
    check_backbone_state(mmdet_r18.state_dict(), tv_state)


def test_verify_detects_weights_that_were_not_loaded(mmdet_r18, tv_state):
    mmdet_r18.load_state_dict(tv_state, strict=False)
    assert verify_backbone_equals(mmdet_r18, tv_state) == 100
    with torch.no_grad():
        mmdet_r18.layer2[0].conv1.weight.add_(1.0)  # as if an initializer ran after the load
    with pytest.raises(BackboneContractError, match=r"layer2\.0\.conv1\.weight"):
        verify_backbone_equals(mmdet_r18, tv_state)


def test_arch_checks():
    assert arch_of_backbone_cfg(dict(type="ResNet", depth=101)) == "resnet101"
    with pytest.raises(BackboneContractError, match="ResNetV1c"):
        arch_of_backbone_cfg(dict(type="ResNetV1c", depth=50))
    with pytest.raises(BackboneContractError, match="depth=10 "):
        arch_of_backbone_cfg(dict(type="ResNet", depth=10))
    with pytest.raises(BackboneContractError, match="resnet10.*no toolbox counterpart"):
        check_arch("resnet10", "resnet18", "fpn_tiny")
    with pytest.raises(BackboneContractError, match="resnet18 but task 'fpn' builds a resnet50"):
        check_arch("resnet18", "resnet50", "fpn")
    check_arch("resnet50", "resnet50", "fpn")
