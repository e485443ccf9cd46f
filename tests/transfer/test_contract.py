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
    check_norm,
    norm_of_backbone_cfg,
    toolbox_layout,
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



GN_CFG = dict(type="ResNet", depth=18, norm_cfg=dict(type="GN", num_groups=32, requires_grad=True),
              norm_eval=False, frozen_stages=-1, zero_init_residual=False)


def test_a_groupnorm_export_fills_the_toolbox_gn_resnet_after_renaming():
    # stage 1's GroupNorm ResNet: torchvision's, norm_layer=GroupNorm(32): keys stay bn1, ...
    torch.manual_seed(0)
    net = torchvision.models.resnet18(norm_layer=lambda c: torch.nn.GroupNorm(32, c))
    export = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    backbone = build_in_scope(GN_CFG, "mmdet")  # mmcv names them gn1, layer1.0.gn2, downsample.1
    with pytest.raises(BackboneContractError, match="gn1.weight"):
        check_backbone_state(backbone.state_dict(), export)
    renamed = toolbox_layout(export, "gn")
    assert "layer1.0.gn2.bias" in renamed and "layer2.0.downsample.1.weight" in renamed
    report = check_backbone_state(backbone.state_dict(), renamed)
    assert report["unexpected"] == [] and len(report["loaded"]) == len(export) == 60
    backbone.load_state_dict(renamed)
    assert verify_backbone_equals(backbone, renamed) == 60
    assert toolbox_layout(export, "bn") is export  # BN: torchvision's names are the toolbox's


def test_the_norm_stage_1_trained_with_must_be_the_one_stage_2_builds():
    bn_cfg = dict(type="ResNet", depth=18, norm_cfg=dict(type="BN", requires_grad=True))
    assert norm_of_backbone_cfg(GN_CFG) == ("gn", 32) and norm_of_backbone_cfg(bn_cfg) == ("bn", None)
    gn_meta = {"norm": "gn", "norm_groups": 32, "path": "runs/x/export/backbone.pth"}
    assert check_norm(gn_meta, GN_CFG, "mask_rcnn_gn_tiny") == "gn"
    assert check_norm({"path": "old_export"}, bn_cfg, "fpn_tiny") == "bn"  # no norm recorded: BN
    with pytest.raises(BackboneContractError,
                       match="runs/x/export/backbone.pth was pretrained with GroupNorm .32 groups. but task "
                             "'fpn_tiny' builds BatchNorm"):
        check_norm(gn_meta, bn_cfg, "fpn_tiny")
    with pytest.raises(BackboneContractError, match="pretrained with BatchNorm but task 'mask_rcnn_gn' builds "
                                                    "GroupNorm"):
        check_norm({"path": "bn_export"}, GN_CFG, "mask_rcnn_gn")
    with pytest.raises(BackboneContractError, match="16 groups"):
        check_norm(gn_meta, {**GN_CFG, "norm_cfg": dict(type="GN", num_groups=16)}, "mask_rcnn_gn")
