"""Each task's headline numbers: percent scaling, seeds, paired Δ intervals in words, random init."""

import pytest

from gather.collect import TransferRow
from gather.headline import format_headline, headline_section
from gather.stats import t_quantile


def row(task, arm, seed, metrics, cost=1.0):
    return TransferRow(task=task, arm=arm, seed=seed, arch="resnet18", cost=cost, metrics=metrics,
                       config_hash=None, pretrain_dataset="synthetic", path=f"{task}/{arm}/{seed}")


def test_progress_line_names_each_tasks_headline_in_percent():
    assert format_headline("mask_rcnn_tiny", {"coco/bbox_mAP": 0.399, "coco/segm_mAP": 0.2,
                                              "coco/bbox_mAP_50": 0.9}) == "box AP 39.9, mask AP 20.0"
    assert format_headline("pspnet_tiny", {"aAcc": 80.0, "mIoU": 31.25}) == "mIoU 31.2"
    assert format_headline("simplebaseline", {"coco/AP": 0.5, "coco/AR": 0.6}) == "keypoint AP 50.0"
    assert format_headline("faster_rcnn_c4_voc_tiny", {"pascal_voc/mAP": 0.024, "pascal_voc/AP50": 0.066}) \
        == "box AP50 6.6"
    assert format_headline("psanet_voc_tiny", {"mIoU": 12.5, "aAcc": 88.0}) == "mIoU 12.5"
    assert format_headline("no_such_task", {"mIoU": 1.0}) == ""


def test_an_interval_covering_zero_is_said_in_words():
    rows = [row("fpn_tiny", "iid", 0, {"coco/bbox_mAP": 0.30}), row("fpn_tiny", "iid", 1, {"coco/bbox_mAP": 0.34}),
            row("fpn_tiny", "dar", 0, {"coco/bbox_mAP": 0.31}, 0.8),
            row("fpn_tiny", "dar", 1, {"coco/bbox_mAP": 0.33}, 0.8),
            row("fpn_tiny", "random_init", 0, {"coco/bbox_mAP": 0.05}, 0.0)]
    text = "\n".join(headline_section(rows, "iid"))
    assert "i.i.d.: 32.0 ± 2.8 (2 seeds, cost 100.0%)" in text
    assert "DaR: 32.0 ± 1.4 (2 seeds, cost 80.0%)" in text
    # per-seed differences +1 and -1: mean 0, std sqrt(2), interval ± t(0.975, 1) * sqrt(2)/sqrt(2)
    half = t_quantile(0.975, 1)
    assert f"[−{half:.1f}, +{half:.1f}]" in text
    assert "The 95% interval covers 0: these seeds cannot tell DaR and i.i.d. apart." in text
    assert "above random init (5.0), difference of means: i.i.d. +27.0, DaR +27.0." in text


def test_an_interval_excluding_zero_says_which_side():
    iid = [0.30, 0.34, 0.32]
    dar = [v - 0.05 + 0.001 * i for i, v in enumerate(iid)]
    rows = [row("pspnet_tiny", "iid", s, {"mIoU": 100 * v}) for s, v in enumerate(iid)]
    rows += [row("pspnet_tiny", "dar", s, {"mIoU": 100 * v}) for s, v in enumerate(dar)]
    text = "\n".join(headline_section(rows, "iid"))
    assert "over 3 paired fine-tuning seeds. The 95% interval excludes 0: DaR is below." in text
    assert "random init" not in text


def test_one_seed_gives_no_interval_and_says_so():
    rows = [row("simplebaseline_tiny", "iid", 0, {"coco/AP": 0.2}),
            row("simplebaseline_tiny", "dar", 0, {"coco/AP": 0.25})]
    (_, _, _, sentence) = headline_section(rows, "iid")
    assert sentence == "  - DaR − i.i.d.: +5.0 (one paired seed: no interval, so no conclusion about the sign)."


@pytest.mark.parametrize("task", ["mask_rcnn_tiny"])
def test_instance_segmentation_has_box_and_mask_headlines(task):
    rows = [row(task, "iid", 0, {"coco/bbox_mAP": 0.2, "coco/segm_mAP": 0.1})]
    text = "\n".join(headline_section(rows, "iid"))
    assert f"**{task}, box AP**" in text and f"**{task}, mask AP**" in text


def test_a_conditional_subset_s_cost_includes_its_selection():
    from dataclasses import replace

    subset = replace(row("psanet_voc_tiny", "clustering_avg_0.5_48px_voc", 0, {"mIoU": 9.9}, cost=0.5),
                     conditional={"total_cost": 0.727, "pretrain_cost": 0.5, "selection_cost": 0.227})
    text = "\n".join(headline_section([row("psanet_voc_tiny", "iid", 0, {"mIoU": 10.6}), subset], "iid"))
    assert "clustering_avg_0.5_48px_voc: 9.9 (1 seed, cost 72.7%)" in text
