"""Detection schedules: the paper's rule on iterations, mmdet's own epoch configs, and the
scaled config a run trains (loop length, lr milestones, recipe hash)."""

from __future__ import annotations

from pathlib import Path

import mmdet
import pytest
from mmengine.config import Config

from transfer.build import recipe_hash, resolve_task_config
from transfer.schedule import recorded_schedule, scaled_schedule, schedule_factor

MMDET_CONFIGS = Path(mmdet.__file__).parent / ".mim" / "configs"


def test_the_paper_s_schedules_keep_the_2x_tails():
    # Detectron's 1x: 90k, lr x0.1 at 60k and 80k; the paper: lowered lrs for the last 60k and 20k
    assert scaled_schedule(90000, [60000, 80000], 1) == (90000, [60000, 80000])
    assert scaled_schedule(90000, [60000, 80000], 2) == (180000, [120000, 160000])
    assert scaled_schedule(90000, [60000, 80000], 3) == (270000, [210000, 250000])
    assert scaled_schedule(90000, [60000, 80000], 6) == (540000, [480000, 520000])


@pytest.mark.parametrize("factor,config", [
    (2, "gn/mask-rcnn_r50_fpn_gn-all_2x_coco.py"), (3, "gn/mask-rcnn_r50_fpn_gn-all_3x_coco.py")])
def test_the_rule_on_mmdet_s_epoch_1x_gives_mmdet_s_own_gn_schedules(factor, config):
    mmdet_cfg = Config.fromfile(str(MMDET_CONFIGS / config))
    step = next(s for s in mmdet_cfg.param_scheduler if s.type == "MultiStepLR")
    assert scaled_schedule(12, [8, 11], factor) == (mmdet_cfg.train_cfg.max_epochs, list(step.milestones))


def test_scaling_an_epoch_config_edits_length_milestones_and_end():
    _, cfg = resolve_task_config("mask_rcnn", schedule="3x")
    assert cfg.train_cfg.max_epochs == 36
    step = cfg.param_scheduler[1]
    assert (list(step.milestones), step.end) == ([28, 34], 36)
    assert cfg.param_scheduler[0].end == 500  # the warm-up is not scaled
    assert recorded_schedule(cfg).record() == {"schedule": "3x", "lr_milestones": [28, 34]}


def test_scaled_iterations_and_hashes():
    _, own = resolve_task_config("mask_rcnn_gn_tiny")
    _, one = resolve_task_config("mask_rcnn_gn_tiny", schedule="1x")
    _, six = resolve_task_config("mask_rcnn_gn_tiny", schedule="6x")
    assert recipe_hash(own) == recipe_hash(one) != recipe_hash(six)
    assert recorded_schedule(own).describe() == "1x: 9 iterations, lr x0.1 at 6, 8"
    assert recorded_schedule(six).describe() == "6x: 54 iterations, lr x0.1 at 48, 52 (1x: 9, at 6, 8)"
    _, tiny = resolve_task_config("fpn_tiny", schedule="3x")  # a warm-up only: the length scales
    assert tiny.train_cfg.max_iters == 12


def test_schedule_errors_name_the_task_or_the_schedule():
    with pytest.raises(ValueError, match="'pspnet_tiny'.*no detection schedule"):
        resolve_task_config("pspnet_tiny", schedule="3x")
    with pytest.raises(ValueError, match="unknown schedule '4x'"):
        schedule_factor("4x")
    with pytest.raises(ValueError, match="milestones"):  # lr steps beyond an overridden length
        resolve_task_config("mask_rcnn_gn_tiny", {"train_cfg.max_iters": 4}, schedule="3x")
