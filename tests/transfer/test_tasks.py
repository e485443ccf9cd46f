"""Every task config loads, names its toolbox, and states the protocol both arms share."""

from __future__ import annotations

from pathlib import Path

import pytest
from mmengine.config import Config

from common.vocab import FAMILY_METRICS, TASK_FAMILIES
from transfer.build import REMOTE_PREFIXES, walk_strings
from transfer.contract import arch_of_backbone_cfg
from transfer.tasks import TASKS, describe_tasks, get_task

IMAGENET_MEAN = [123.675, 116.28, 103.53]
IMAGENET_STD = [58.395, 57.12, 57.375]


def test_task_names_and_families():
    paper = {"fpn", "mask_rcnn", "pspnet", "simplebaseline", "fpn_gn", "mask_rcnn_gn", "finegrained_finetune",
             "finegrained_linear", "faster_rcnn_c4_voc", "psanet_voc"}
    assert set(TASKS) == paper | {f"{name}_tiny" for name in paper} | {"simplebaseline_xiao"}
    for name in paper:
        assert TASKS[name].family == TASKS[f"{name}_tiny"].family
        assert TASKS[name].scope == TASKS[f"{name}_tiny"].scope
    assert all(t.family in FAMILY_METRICS for t in TASKS.values())
    assert list(TASKS) == list(TASK_FAMILIES)  # every task has its config, every config its family


def test_describe_tasks_is_one_line_per_task():
    lines = describe_tasks().splitlines()
    assert len(lines) == len(TASKS)
    assert all(line.split()[0] in TASKS for line in lines)


def test_unknown_task_lists_known_ones():
    with pytest.raises(KeyError, match="fpn_tiny"):
        get_task("yolo")


TOOLBOX_TASKS = [name for name, task in TASKS.items() if task.scope != "torchvision"]


@pytest.mark.parametrize("name", TOOLBOX_TASKS)
def test_config_loads_and_states_protocol(name):
    task = TASKS[name]
    cfg = Config.fromfile(str(task.config))
    assert cfg.default_scope == task.scope
    backbone = cfg.model.backbone
    # explicit, because the toolboxes' defaults differ (mmdet norm_eval=True, mmseg False)
    assert {"norm_cfg", "norm_eval", "frozen_stages"} <= set(backbone)
    assert backbone.init_cfg is None  # filled by transfer/build.py only
    assert backbone.get("deep_stem", False) is False
    expected_arch = "resnet18" if name.endswith("_tiny") else {
        "simplebaseline": "resnet101", "simplebaseline_xiao": "resnet101"}.get(name, "resnet50")
    assert arch_of_backbone_cfg(backbone) == expected_arch
    prep = cfg.model.data_preprocessor
    assert list(prep.mean) == IMAGENET_MEAN and list(prep.std) == IMAGENET_STD
    assert prep.bgr_to_rgb is True
    remote = [v for _, v in walk_strings(cfg.to_dict()) if v.startswith(REMOTE_PREFIXES)]
    assert remote == []
    assert cfg.test_dataloader and cfg.test_evaluator and cfg.train_dataloader


def test_pspnet_is_dilated_plain_stem_resnet():
    # the paper's output stride 8; the tiny task dilates only layer4 (output stride 16), see its config
    expected = {"pspnet": ((1, 2, 1, 1), (1, 1, 2, 4)), "pspnet_tiny": ((1, 2, 2, 1), (1, 1, 1, 2))}
    for name, (strides, dilations) in expected.items():
        backbone = Config.fromfile(str(TASKS[name].config)).model.backbone
        assert backbone.type == "ResNet"
        assert tuple(backbone.strides) == strides
        assert tuple(backbone.dilations) == dilations


def test_tiny_configs_read_the_shared_samples(shared_data):
    for name in ("fpn_tiny", "mask_rcnn_tiny", "simplebaseline_tiny", "pspnet_tiny", "fpn_gn_tiny",
                 "mask_rcnn_gn_tiny"):
        cfg = Config.fromfile(str(TASKS[name].config))
        root = cfg.train_dataloader.dataset.data_root
        assert root == cfg.test_dataloader.dataset.data_root
        assert Path(root).resolve().parent == shared_data.resolve()


def test_simplebaseline_xiao_follows_xiao_et_al_s_recipe():
    cfg = Config.fromfile(str(TASKS["simplebaseline_xiao"].config))
    assert cfg.train_cfg.max_epochs == 140 and cfg.train_dataloader.batch_size == 32
    assert cfg.auto_scale_lr.base_batch_size == 128  # 4 GPUs x 32
    assert cfg.optim_wrapper.optimizer == dict(type="Adam", lr=1e-3, weight_decay=0.0)
    assert [dict(s) for s in cfg.param_scheduler] == [
        dict(type="MultiStepLR", begin=0, end=140, milestones=[90, 120], gamma=0.1, by_epoch=True)]
    steps = [t["type"] for t in cfg.train_dataloader.dataset.pipeline]
    assert "RandomHalfBody" not in steps
    transform = next(t for t in cfg.train_dataloader.dataset.pipeline if t["type"] == "RandomBBoxTransform")
    assert (transform.rotate_factor, tuple(transform.scale_factor), transform.shift_prob) == (40.0, (0.7, 1.3), 0.0)


@pytest.mark.parametrize("name", ["fpn_gn", "mask_rcnn_gn", "fpn_gn_tiny", "mask_rcnn_gn_tiny"])
def test_gn_tasks_put_groupnorm_everywhere_and_freeze_nothing(name):
    cfg = Config.fromfile(str(TASKS[name].config))
    gn = dict(type="GN", num_groups=32, requires_grad=True)
    model = cfg.model
    assert model.backbone.norm_cfg == gn and model.neck.norm_cfg == gn
    assert model.roi_head.bbox_head.type == "Shared4Conv1FCBBoxHead" and model.roi_head.bbox_head.norm_cfg == gn
    if "mask" in name:
        assert model.roi_head.mask_head.norm_cfg == gn
    assert model.backbone.frozen_stages == -1 and model.backbone.zero_init_residual is False
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.0
    assert cfg.train_cfg.type == "IterBasedTrainLoop"
    step = next(s for s in cfg.param_scheduler if s.type == "MultiStepLR")
    # the paper's 1x: lr x0.1 at 2/3 and 8/9 of the iterations (60k and 80k of 90k)
    assert [m / cfg.train_cfg.max_iters for m in step.milestones] == pytest.approx([2 / 3, 8 / 9])
