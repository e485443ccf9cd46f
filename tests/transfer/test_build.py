"""Config building: backbone wiring, both arms, offline guarantees, overrides, protocol."""

from __future__ import annotations

import pytest
import torch

from common.backbone import load_backbone
from transfer.build import build_run, protocol_of, recipe_hash
from transfer.contract import BackboneContractError
from transfer.request import TransferRequest


def test_export_becomes_a_local_pretrained_init(export_r18):
    spec = build_run(TransferRequest("fpn_tiny", export_r18, seed=3, work_dir="/tmp/x"))
    init = spec.cfg.model.backbone.init_cfg
    assert init == dict(type="Pretrained", checkpoint=str(export_r18 / "backbone.pth"))
    assert spec.arm == "iid" and spec.pretrain["cost"] == 1.0
    assert len(spec.contract["loaded"]) == 100 and spec.contract["unexpected"] == []
    assert spec.cfg.randomness.seed == 3 and spec.cfg.work_dir == "/tmp/x"
    assert spec.cfg.launcher == "none"
    assert spec.cfg.env_cfg.dist_cfg.backend == "gloo"  # no CUDA in the tests


def test_random_init_arm(shared_data):
    spec = build_run(TransferRequest("pspnet_tiny", "none"))
    assert spec.cfg.model.backbone.init_cfg is None
    assert spec.checkpoint is None
    assert spec.pretrain["arm"] == "random_init" and spec.pretrain["cost"] == 0.0
    assert spec.pretrain["arch"] == "resnet18"
    assert spec.backbone == "none"
    with pytest.raises(ValueError, match="--arch resnet50 but task 'pspnet_tiny' builds"):
        build_run(TransferRequest("pspnet_tiny", "none", arch="resnet50"))


def test_checkpoint_missing_a_backbone_key_is_rejected(export_r18, tmp_path):
    state, _ = load_backbone(export_r18)
    del state["layer4.1.conv2.weight"]
    path = tmp_path / "partial.pth"
    torch.save(state, path)
    with pytest.raises(BackboneContractError, match=r"lacks 1 .*layer4\.1\.conv2\.weight"):
        build_run(TransferRequest("fpn_tiny", path, arch="resnet18"))


def test_arch_mismatch_is_rejected(export_r18):
    with pytest.raises(BackboneContractError, match="resnet18 but task 'fpn' builds a resnet50"):
        build_run(TransferRequest("fpn", export_r18))


def test_plain_torchvision_checkpoint_needs_arch(plain_r18_checkpoint):
    with pytest.raises(ValueError, match="pass --arch"):
        build_run(TransferRequest("simplebaseline_tiny", plain_r18_checkpoint))
    spec = build_run(TransferRequest("simplebaseline_tiny", plain_r18_checkpoint, arch="resnet18"))
    assert spec.arm == "torchvision" and spec.pretrain["cost"] == 1.0
    assert spec.cfg.model.backbone.init_cfg.checkpoint == str(plain_r18_checkpoint)


def test_remote_checkpoints_and_load_from_are_refused(export_r18):
    with pytest.raises(ValueError, match="torchvision://resnet50"):
        build_run(TransferRequest("fpn_tiny", "none", cfg_options={
                            "model.roi_head.bbox_head.init_cfg": dict(type="Pretrained",
                                                                      checkpoint="torchvision://resnet50")}))
    with pytest.raises(ValueError, match="load_from"):
        build_run(TransferRequest("fpn_tiny", export_r18, cfg_options={"load_from": "/tmp/full_model.pth"}))


def test_syncbn_becomes_bn_in_a_single_process():
    spec = build_run(TransferRequest("pspnet", "none"))
    assert spec.cfg.model.backbone.norm_cfg.type == "BN"
    assert spec.cfg.model.decode_head.norm_cfg.type == "BN"
    assert protocol_of(spec.cfg)["norm_cfg"] == {"type": "BN", "requires_grad": True}


def test_cpu_distributed_run_wraps_ddp_without_device_ids():
    spec = build_run(TransferRequest("pspnet_tiny", "none", launcher="pytorch"))
    assert spec.cfg.model_wrapper_cfg == dict(type="MMDistributedDataParallel", device_ids=None)
    assert spec.cfg.launcher == "pytorch"
    with pytest.raises(ValueError, match="launcher must be one of"):
        build_run(TransferRequest("pspnet_tiny", "none", launcher="mpi"))


def test_data_root_rebases_datasets_evaluators_and_bbox_file(tmp_path):
    spec = build_run(TransferRequest("simplebaseline", "none", data_root=tmp_path / "coco"))
    root = f"{tmp_path}/coco/"
    for split in ("train", "val", "test"):
        assert spec.cfg[f"{split}_dataloader"].dataset.data_root == root
    assert spec.cfg.val_dataloader.dataset.bbox_file == (
        root + "person_detection_results/COCO_val2017_detections_AP_H_56_person.json")
    assert spec.cfg.test_evaluator.ann_file == root + "annotations/person_keypoints_val2017.json"


def test_cfg_options_override_the_task_config():
    spec = build_run(TransferRequest("fpn_tiny", "none", cfg_options={"train_cfg.max_iters": 7,
                                                                      "optim_wrapper.optimizer.lr": 0.001}))
    protocol = protocol_of(spec.cfg)
    assert protocol["max_iters"] == 7 and protocol["optimizer"]["lr"] == 0.001


def test_protocol_and_recipe_hash_are_shared_by_arms_and_seeds(export_r18):
    pretrained = build_run(TransferRequest("fpn_tiny", export_r18, seed=0, work_dir="/tmp/a"))
    random_init = build_run(TransferRequest("fpn_tiny", "none", seed=1, work_dir="/tmp/b"))
    assert protocol_of(pretrained.cfg) == protocol_of(random_init.cfg)
    assert protocol_of(pretrained.cfg) == {
        "norm_cfg": {"type": "BN", "requires_grad": True}, "norm_eval": True,
        "frozen_stages": 1, "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375],
        "bgr_to_rgb": True,
        "optimizer": {"type": "SGD", "lr": 0.01, "momentum": 0.9, "weight_decay": 0.0001},
        "batch_size_per_process": 4, "reference_batch_size": 4, "lr_scaled": False, "amp": None,
        "max_iters": 4}
    assert recipe_hash(pretrained.cfg) == recipe_hash(random_init.cfg)
    changed = build_run(TransferRequest("fpn_tiny", "none", cfg_options={"train_cfg.max_iters": 5}))
    assert recipe_hash(changed.cfg) != recipe_hash(random_init.cfg)


def test_protocol_requires_explicit_bn_settings():
    spec = build_run(TransferRequest("fpn_tiny", "none"))
    del spec.cfg.model.backbone["norm_eval"]
    with pytest.raises(ValueError, match="norm_eval"):
        protocol_of(spec.cfg)


def test_the_c4_head_loading_the_export_is_the_arm_not_the_recipe(export_r18):
    # faster_rcnn_c4_voc's res5 (the shared head) loads the export's file too: two arms of one
    # recipe still share the hash, which gather reads as "the same protocol"
    pretrained = build_run(TransferRequest("faster_rcnn_c4_voc_tiny", export_r18, seed=0, work_dir="/tmp/a"))
    random_init = build_run(TransferRequest("faster_rcnn_c4_voc_tiny", "none", seed=0, work_dir="/tmp/b"))
    head = pretrained.cfg.to_dict()["model"]["roi_head"]["shared_head"]
    assert head["init_cfg"]["checkpoint"] == pretrained.cfg.to_dict()["model"]["backbone"]["init_cfg"]["checkpoint"]
    assert recipe_hash(pretrained.cfg) == recipe_hash(random_init.cfg)
