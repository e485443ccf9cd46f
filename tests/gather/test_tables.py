"""gather.tables and gather.render: scales, cell formats and table construction on hand-made rows (no files)."""

from dataclasses import replace

import pytest

from gather.collect import PretrainRow, TransferRow
from gather.render import (
    CSV,
    MD,
    TEX,
    format_cell,
    format_cost,
    format_delta,
    format_number,
    format_summary,
    render,
    render_md,
    tex_header,
)
from gather.stats import Delta, Summary
from gather.tables import SPECS, Cost, build_tables, task_table

COSTS = {"iid": 1.0, "dar": 0.86, "random_init": 0.0}


def transfer_row(task, arm, seed, metrics, arch="resnet50", cost=None, config_hash="0" * 16,
                 pretrain_dataset="imagenet"):
    """A TransferRow as gather.collect would parse it from a results.json."""
    return TransferRow(task=task, arm=arm, seed=seed, arch=arch,
                       cost=COSTS.get(arm, 1.0) if cost is None else cost, metrics=metrics,
                       config_hash=config_hash,
                       pretrain_dataset=None if arm == "random_init" else pretrain_dataset,
                       path=f"/x/{task}/{arm}_{seed}/results.json")


def pretrain_row(dataset, arm, seed, metrics, arch="resnet50", cost=None):
    """A PretrainRow as gather.collect would parse it from a backbone.json."""
    return PretrainRow(dataset=dataset, arch=arch, arm=arm, seed=seed,
                       cost=COSTS.get(arm, 1.0) if cost is None else cost, metrics=metrics,
                       history=[], epochs=1, path=f"/x/{dataset}/{arm}_{seed}/backbone.json")


def one_table(tables, key):
    matches = [t for t in tables if t.spec.key == key]
    assert len(matches) == 1
    return matches[0]


def md_cells(table):
    return [[format_cell(c, MD) for c in row.labels + row.values] for row in table.rows]


# --- scales -------------------------------------------------------------------------------
def test_scales_come_from_the_metric_table_not_the_values():
    box_ap = SPECS["T5"].metrics[0]
    miou = SPECS["T7"].metrics[0]
    assert box_ap.key == "coco/bbox_mAP" and miou.key == "mIoU"
    assert format_number(box_ap.percent(0.358), MD) == "35.8"  # mmdet fraction -> percent
    assert format_number(miou.percent(76.5), MD) == "76.5"  # mmseg already percent
    assert miou.percent(0.5) == 0.5  # a small mIoU is not mistaken for a fraction
    assert box_ap.percent(-1.0) is None  # COCO: no ground truth of that size
    assert box_ap.percent(None) is None
    top1_err = SPECS["T4"].metrics[0]
    assert top1_err.percent(76.13) == pytest.approx(23.87)  # error = 100 - accuracy


def test_keypoint_and_mask_columns_map_to_the_toolbox_names():
    assert [m.key for m in SPECS["T6"].metrics] == [
        "coco/AP", "coco/AP .5", "coco/AP .75", "coco/AP (M)", "coco/AP (L)",
        "coco/AR", "coco/AR .5", "coco/AR .75", "coco/AR (M)", "coco/AR (L)"]
    assert [m.label for m in SPECS["T6"].metrics] == [
        "AP", "AP50", "AP75", "APM", "APL", "AR", "AR50", "AR75", "ARM", "ARL"]
    assert SPECS["T5"].columns[3:] == (
        "AP^bb", "AP50^bb", "AP75^bb", "APS^bb", "APM^bb", "APL^bb",
        "AP^m", "AP50^m", "AP75^m", "APS^m", "APM^m", "APL^m")
    assert SPECS["T5"].metrics[8].key == "coco/segm_mAP_75"


def test_every_transfer_task_has_a_table():
    from common.vocab import TASK_FAMILIES
    from gather.tables import CONDITIONAL_TASKS

    # the fine-grained tasks have the conditional pre-training table (build_conditional_tables)
    assert [t for t in TASK_FAMILIES if task_table(t) is None
            and t.removesuffix("_tiny") not in CONDITIONAL_TASKS] == []
    assert task_table("fpn_tiny") == ("T5", "FPN (tiny)")
    assert task_table("unknown") is None


# --- cell formats -------------------------------------------------------------------------
def test_number_formats():
    assert format_number(0.44, MD, signed=True) == "+0.4"
    assert format_number(-0.2, MD, signed=True) == "−0.2"  # unicode minus in md
    assert format_number(-0.2, CSV, signed=True) == "-0.2"  # ASCII in csv and tex
    assert format_number(-0.04, MD, signed=True) == "0.0"  # no "−0.0"
    assert format_summary(Summary(3, 35.8, 0.26), MD) == "35.8 ± 0.3"
    assert format_summary(Summary(3, 35.8, 0.26), CSV) == "35.8 +/- 0.3"
    assert format_summary(Summary(1, 35.8, None), MD) == "35.8"
    assert format_summary(None, MD) == "–"


def test_cost_formats():
    assert format_cost(Cost(1.0), MD) == "100%"
    assert format_cost(Cost(0.0), MD) == "0%"
    assert format_cost(Cost(0.86), MD) == "86%"
    assert format_cost(Cost(0.9388889), MD) == "93.9%"
    assert format_cost(Cost(0.86 - 1.0, signed=True), MD) == "−14%"
    assert format_cost(Cost(-0.14, signed=True), TEX) == "-14\\%"
    assert format_cost(Cost(None), MD) == "–"


def test_delta_formats():
    # the hand case of test_stats: diffs [0.2, 0.4, 0.9] -> 0.5 ± 0.3606 [-0.3957, 1.3957]
    d = Delta(3, 0.5, 0.3606, -0.3957, 1.3957, True)
    assert format_delta(d, MD) == "+0.5 ± 0.4 [−0.4, +1.4]"
    assert format_delta(d, CSV) == "+0.5 +/- 0.4 [-0.4, +1.4]"
    assert format_delta(d, TEX) == "+0.5 $\\pm$ 0.4 [-0.4, +1.4]"
    assert format_delta(Delta(1, -0.2, None, None, None, True), MD) == "−0.2"
    assert format_delta(Delta(0, 0.4, None, None, None, False), MD) == "+0.4†"
    assert format_delta(None, MD) == "–"


# --- construction -------------------------------------------------------------------------
BOX_KEYS = ["coco/bbox_mAP", "coco/bbox_mAP_50", "coco/bbox_mAP_75",
            "coco/bbox_mAP_s", "coco/bbox_mAP_m", "coco/bbox_mAP_l"]


def box(ap, ap_s=0.2):
    """FPN metrics (fractions): AP given, AP50/AP75/APM/APL fixed, APS given (-1 = no GT)."""
    return dict(zip(BOX_KEYS, [ap, 0.58, 0.38, ap_s, 0.40, 0.48], strict=True))


def test_t5_rows_means_stds_and_paired_delta_by_hand():
    # iid AP 35.0, 35.2, 35.4 -> mean 35.2, std 0.2; dar AP 35.2, 35.6, 36.3 -> diffs
    # 0.2, 0.4, 0.9 -> +0.5 ± 0.4 [−0.4, +1.4] (hand case of test_stats); cost 86% - 100%
    rows = [transfer_row("fpn", "iid", s, box(ap)) for s, ap in enumerate([0.350, 0.352, 0.354])]
    rows += [transfer_row("fpn", "dar", s, box(ap)) for s, ap in enumerate([0.352, 0.356, 0.363])]
    tables, warnings = build_tables(rows, [])
    assert warnings == []
    t5 = one_table(tables, "T5")
    dash = ["–"] * 6  # FPN has no mask columns
    assert md_cells(t5) == [
        ["FPN", "R-50 (i.i.d.)", "100%", "35.2 ± 0.2", "58.0 ± 0.0", "38.0 ± 0.0", "20.0 ± 0.0",
         "40.0 ± 0.0", "48.0 ± 0.0", *dash],
        ["FPN", "R-50 (DaR)", "86%", "35.7 ± 0.6", "58.0 ± 0.0", "38.0 ± 0.0", "20.0 ± 0.0",
         "40.0 ± 0.0", "48.0 ± 0.0", *dash],
        ["FPN", "Δ DaR − i.i.d.", "−14%", "+0.5 ± 0.4 [−0.4, +1.4]", "0.0 ± 0.0 [0.0, 0.0]",
         "0.0 ± 0.0 [0.0, 0.0]", "0.0 ± 0.0 [0.0, 0.0]", "0.0 ± 0.0 [0.0, 0.0]",
         "0.0 ± 0.0 [0.0, 0.0]", *dash],
    ]
    d = t5.rows[2].values[0]
    assert (d.n, d.mean, d.std) == (3, pytest.approx(0.5), pytest.approx(0.360555, abs=1e-6))
    assert (d.low, d.high) == pytest.approx((-0.395669, 1.395669), abs=1e-5)
    assert any("95% Student-t" in note for note in t5.notes)


def test_missing_arm_metric_null_and_minus_one_show_a_dash():
    rows = [
        transfer_row("mask_rcnn", "iid", 0, {**box(0.358, ap_s=-1.0), "coco/segm_mAP": None}),
        transfer_row("mask_rcnn", "dar", 0, {**box(0.360), "coco/segm_mAP": 0.31}),
    ]
    t5 = one_table(build_tables(rows, [])[0], "T5")
    iid, dar, diff = md_cells(t5)
    assert iid[3] == "35.8" and iid[6] == "–"  # APS^bb was -1 (no small objects)
    assert iid[9] == "–" and dar[9] == "31.0"  # AP^m null in iid
    assert iid[10:] == ["–"] * 5  # mask metrics absent from the file
    assert diff[3] == "+0.2" and diff[6] == "–" and diff[9] == "–"


def test_group_without_baseline_has_no_delta_rows_and_a_note():
    rows = [transfer_row("pspnet", "dar", 0, {"mIoU": 76.5}),
            transfer_row("pspnet", "random_init", 0, {"mIoU": 60.25})]
    t7 = one_table(build_tables(rows, [])[0], "T7")
    assert md_cells(t7) == [["PSPNet", "R-50 (DaR)", "86%", "76.5"],
                            ["PSPNet", "R-50 (random init)", "0%", "60.2"]]
    assert any("no i.i.d. (baseline) run" in note for note in t7.notes)
    # another baseline: random init becomes the reference row
    t7 = one_table(build_tables(rows, [], baseline="random_init")[0], "T7")
    assert md_cells(t7)[2] == ["PSPNet", "Δ DaR − random init", "+86%", "+16.2"]


def test_architectures_and_tasks_are_never_compared():
    rows = [transfer_row("pspnet", "iid", 0, {"mIoU": 70.0}, arch="resnet50"),
            transfer_row("pspnet", "dar", 0, {"mIoU": 99.0}, arch="resnet101"),
            transfer_row("pspnet_tiny", "dar", 0, {"mIoU": 5.0}, arch="resnet50")]
    t7 = one_table(build_tables(rows, [])[0], "T7")
    assert [r.kind for r in t7.rows] == ["arm", "arm", "arm"]  # three groups, no Δ possible
    assert [r.group for r in t7.rows] == ["PSPNet R-101", "PSPNet R-50", "PSPNet (tiny) R-50"]


def test_unpaired_seeds_use_difference_of_means_and_say_so():
    rows = [transfer_row("pspnet", "iid", 0, {"mIoU": 70.0}),
            transfer_row("pspnet", "iid", 1, {"mIoU": 72.0}),
            transfer_row("pspnet", "dar", 7, {"mIoU": 71.5})]
    t7 = one_table(build_tables(rows, [])[0], "T7")
    assert md_cells(t7)[2] == ["PSPNet", "Δ DaR − i.i.d.", "−14%", "+0.5†"]
    assert any("difference of the means" in note for note in t7.notes)


def test_seed_in_one_arm_only_is_noted_and_left_out():
    rows = [transfer_row("pspnet", "iid", s, {"mIoU": v}) for s, v in [(0, 70.0), (1, 71.0)]]
    rows += [transfer_row("pspnet", "dar", s, {"mIoU": v}) for s, v in [(0, 70.4), (2, 90.0)]]
    t7 = one_table(build_tables(rows, [])[0], "T7")
    assert md_cells(t7)[2][3] == "+0.4"  # seed 0 only
    assert any("seed(s) 2 have no i.i.d. run" in note for note in t7.notes)


def test_mixed_recipes_and_pretraining_data_are_flagged():
    rows = [transfer_row("pspnet", "iid", 0, {"mIoU": 70.0}, config_hash="a" * 16),
            transfer_row("pspnet", "dar", 0, {"mIoU": 70.5}, config_hash="b" * 16,
                         pretrain_dataset="synthetic"),
            transfer_row("pspnet", "random_init", 0, {"mIoU": 50.0})]
    t7 = one_table(build_tables(rows, [])[0], "T7")
    assert ("PSPNet R-50: runs differ in config_hash (0000000000000000, aaaaaaaaaaaaaaaa, "
            "bbbbbbbbbbbbbbbb): compare with care.") in t7.notes
    assert ("PSPNet R-50: runs differ in pretraining dataset (imagenet, synthetic): "
            "compare with care.") in t7.notes  # random init (no dataset) does not count


def test_unknown_task_and_dataset_are_warned_and_skipped():
    tables, warnings = build_tables([transfer_row("yolo", "iid", 0, {"AP": 1.0})],
                                    [pretrain_row("mnist", "iid", 0, {"top1": 99.0})])
    assert tables == []
    assert len(warnings) == 2 and "'yolo'" in warnings[0] and "'mnist'" in warnings[1]


def test_classification_tables_from_exports():
    pretrain = [
        pretrain_row("imagenet", "iid", 0, {"top1": 76.13, "top5": 92.86}),
        pretrain_row("imagenet", "dar", 0, {"top1": 76.00, "top5": 92.90}),
        pretrain_row("imagenet_lt", "iid", 0, {"top1": 35.0, "many_shot_top1": 55.0,
                                               "medium_shot_top1": 28.0, "few_shot_top1": 6.0},
                     arch="resnet10"),
        pretrain_row("cifar10", "iid", 0, {"top1": 93.5}, arch="resnet110_cifar"),
        pretrain_row("synthetic", "dar", 0, {"top1": 60.0, "top5": 99.0}, arch="resnet18",
                     cost=0.9388889),
    ]
    tables, _ = build_tables([], pretrain)
    assert [t.spec.key for t in tables] == ["T2", "T2-arms", "T4", "T4-arms", "T8", "Synthetic"]
    # error: iid 23.87 / 7.14, dar 24.00 / 7.10 -> Δ +0.13 -> "+0.1", -0.04 -> "0.0"
    assert md_cells(one_table(tables, "T4-arms")) == [
        ["ResNet-50 (i.i.d.)", "100%", "23.9", "7.1"],
        ["ResNet-50 (DaR)", "86%", "24.0", "7.1"],
        ["Δ DaR − i.i.d.", "−14%", "+0.1", "0.0"]]
    # the paper's layout: the same runs, DaR's improvement (an error: i.i.d. − DaR) in brackets
    assert md_cells(one_table(tables, "T4")) == [["ResNet-50", "23.9", "7.1", "24.0 (−0.1)", "7.1 (0.0)"]]
    assert md_cells(one_table(tables, "T8")) == [["R-10 (i.i.d.)", "100%", "55.0", "28.0",
                                                  "6.0", "35.0"]]
    assert md_cells(one_table(tables, "T2-arms")) == [["ResNet-110 (i.i.d.)", "100%", "93.5"]]
    assert md_cells(one_table(tables, "T2")) == [["ResNet-110", "93.5"]]
    assert md_cells(one_table(tables, "Synthetic"))[0][1] == "93.9%"


# --- rendering ----------------------------------------------------------------------------
def test_render_md_exact():
    rows = [transfer_row("pspnet", "iid", 0, {"mIoU": 76.5}),
            transfer_row("pspnet", "dar", 0, {"mIoU": 76.3})]
    (t7,), _ = build_tables(rows, [])
    assert render_md(t7) == (
        "### T7 Cityscapes val semantic segmentation (%)\n\n"
        "| Method | Backbone | Pre-train Cost | mIoU |\n"
        "|:--|:--|:--|--:|\n"
        "| PSPNet | R-50 (i.i.d.) | 100% | 76.5 |\n"
        "| PSPNet | R-50 (DaR) | 86% | 76.3 |\n"
        "| PSPNet | Δ DaR − i.i.d. | −14% | −0.2 |\n")


def test_render_csv_and_tex_are_ascii_with_one_header_row():
    rows = [transfer_row("pspnet", "iid", s, {"mIoU": v}) for s, v in [(0, 76.0), (1, 77.0)]]
    rows += [transfer_row("pspnet", "my_arm", s, {"mIoU": v}) for s, v in [(0, 76.5), (1, 77.1)]]
    tables, _ = build_tables(rows, [])
    csv_text = render(tables, "csv")
    assert csv_text.isascii()
    lines = csv_text.splitlines()
    assert lines[0] == "# T7 Cityscapes val semantic segmentation (%)"
    assert lines[1] == "Method,Backbone,Pre-train Cost,mIoU"
    # diffs 0.5, 0.1: mean 0.3, std 0.2828, half-width 12.7062 * 0.2 = 2.5412
    assert lines[4] == 'PSPNet,Delta my_arm - i.i.d.,0%,"+0.3 +/- 0.3 [-2.2, +2.8]"'
    tex = render(tables, "tex")
    assert tex.isascii()
    assert "\\toprule" in tex and "\\bottomrule" in tex and "\\end{tabular}" in tex
    assert "PSPNet & $\\Delta$ my\\_arm - i.i.d. & 0\\% & +0.3 $\\pm$ 0.3 [-2.2, +2.8] \\\\" in tex
    assert tex_header("AP50^bb") == "AP50$^{bb}$"
    with pytest.raises(ValueError):
        render(tables, "html")


def test_an_arm_is_compared_with_each_of_its_equal_cost_controls():
    def row(arm, seed, miou, cost, control_of=None):
        return TransferRow(task="pspnet", arm=arm, seed=seed, arch="resnet50", cost=cost,
                           metrics={"mIoU": miou}, config_hash="0" * 16, pretrain_dataset="imagenet",
                           path=f"/x/{arm}_{seed}/results.json", control_of=control_of)

    rows = [row("iid", s, 70.0 + s, 1.0) for s in (0, 1)]
    rows += [row("dar", s, 72.0 + s, 0.74) for s in (0, 1)]
    rows += [row("dar-random_drop", s, 71.0 + 2 * s, 0.74, "dar") for s in (0, 1)]
    rows += [row("dar-budget", s, 69.0, 0.74, "dar") for s in (0, 1)]
    t7 = one_table(build_tables(rows, [])[0], "T7")
    labels = [r.labels[1] for r in t7.rows]
    assert labels == ["R-50 (i.i.d.)", "R-50 (DaR)", "R-50 (budget at DaR cost)", "R-50 (random drop at DaR cost)",
                      "Δ DaR − i.i.d.", "Δ budget at DaR cost − i.i.d.", "Δ random drop at DaR cost − i.i.d.",
                      "Δ DaR − budget at DaR cost", "Δ DaR − random drop at DaR cost"]
    by_label = dict(zip(labels, t7.rows, strict=True))
    versus_drop = by_label["Δ DaR − random drop at DaR cost"]
    assert versus_drop.kind == "control_delta"
    assert versus_drop.values[0].mean == pytest.approx(0.5) and versus_drop.values[0].n == 2  # (1 + 0) / 2
    assert versus_drop.labels[2] == Cost(pytest.approx(0.0), True)  # at equal cost
    assert by_label["Δ DaR − budget at DaR cost"].values[0].mean == pytest.approx(3.5)


def test_budgeted_transfer_runs_get_arazo_s_layout_on_the_headline_metric():
    def row(arm, seed, ap, cost, budget=None):
        return TransferRow(task="fpn", arm=arm, seed=seed, arch="resnet18", cost=cost,
                           metrics={"coco/bbox_mAP": ap}, config_hash="0" * 16, pretrain_dataset="cifar10",
                           path=f"/x/{arm}{budget}_{seed}/results.json", budget=budget)

    rows = [row("iid", s, 0.30, 1.0) for s in (0, 1)]
    rows += [row("p_sgd", s, 0.20 + 0.02 * s, b, b) for s in (0, 1) for b in (0.2, 0.5)]
    tables = build_tables(rows, [])[0]
    t5 = one_table(tables, "T5")  # the classic table keeps one row per (method, budget)
    assert [r.labels[1] for r in t5.rows if r.kind == "arm"] == [
        "R-18 (i.i.d.)", "R-18 (p-SGD at budget 0.2)", "R-18 (p-SGD at budget 0.5)"]
    budget = one_table(tables, "T5-budget")
    assert budget.spec.columns == ("Method", "Backbone", "budget 0.2", "budget 0.5", "own cost")
    assert md_cells(budget) == [["i.i.d.", "R-18", "–", "–", "30.0 ± 0.0 (100%)"],
                                ["p-SGD", "R-18", "21.0 ± 1.4 (20%)", "21.0 ± 1.4 (50%)", "–"]]


def conditional_row(method, fraction, size, target, top1, seed=0, arm=None, total=None):
    """A fine-grained transfer row of a backbone pretrained on a selected subset (or none)."""
    conditional = {"method": method, "fraction": fraction, "image_size": size, "target": target,
                   "pretrain_cost": (fraction or 1.0) * (size / 224) ** 2 if size else 0.0,
                   "selection_cost": 0.004 if method not in (None, "random") else 0.0,
                   "total_cost": total, "wall_clock_s": 7200.0,
                   "pretrain_wall_clock_s": 7000.0 * (0.6 if size == 112 else 1.0)}
    name = arm or f"{method}_{fraction}_{size}px_{target}"
    return TransferRow(task="finegrained_finetune", arm=name, seed=seed, arch="resnet34", cost=fraction or 1.0,
                       metrics={"top1": top1, "top5": 99.0}, config_hash="0" * 16, pretrain_dataset="imagenet",
                       path=f"/x/{name}/{seed}/results.json", conditional=conditional)


def test_conditional_table_has_methods_as_rows_targets_and_costs_as_columns():
    rows = [conditional_row("random", 0.12, 224, "cars", 80.0, total=0.12),
            conditional_row("random", 0.12, 224, "cars", 82.0, seed=1, total=0.12),
            conditional_row("domain_classifier", 0.12, 224, "cars", 85.0, total=0.124),
            conditional_row("domain_classifier", 0.12, 224, "birds", 70.0, total=0.124),
            conditional_row("domain_classifier", 0.12, 112, "birds", 68.0, total=0.034),
            conditional_row(None, None, 224, "cars", 88.0, arm="iid", total=1.0)]
    tables, warnings = build_tables(rows, [])
    assert warnings == [] and len(tables) == 1
    table = tables[0]
    assert table.spec.columns == ("Selection", "Subset", "Pre-train Res.", "birds", "cars", "Selection Cost",
                                  "Pre-train Cost", "Selection + Pre-train", "Wall-clock (h)",
                                  "Pre-train wall-clock vs full res.")
    text = render_md(table).splitlines()
    assert text[4] == "| i.i.d. | 100% | 224 px | – | 88.0 | 0% | 100% | 100% | 2 | 1.00× |"
    assert text[5] == "| Random | 12% | 224 px | – | 81.0 ± 1.4 | 0% | 12% | 12% | 2 | 1.00× |"
    assert text[6] == "| Domain classifier | 12% | 224 px | 70.0 | 85.0 | 0.4% | 12% | 12.4% | 2 | 1.00× |"
    # the FLOP model says 3% (a quarter of 12%), the measured hours 0.60× of the 224 px run's
    assert text[7] == "| Domain classifier | 12% | 112 px | 68.0 | – | 0.4% | 3% | 3.4% | 2 | 0.60× |"
    assert "CPT-finegrained_finetune" in text[0]


def test_augmentation_arms_are_named_and_ordered_after_their_method():
    from gather.tables import arm_name, order_arms
    assert arm_name("unif_sgd_ricap") == "unif-SGD + RICAP"
    assert arm_name("p_sgd_ricap@0.3") == "p-SGD + RICAP at budget 0.3"
    assert arm_name("unif_sgd_randaugment") == "unif-SGD + RandAugment"
    assert arm_name("my_ricap") == "my_ricap"  # not a known method's: as it is
    arms = ["c_sgd", "unif_sgd_ricap", "iid", "unif_sgd_mixup", "unif_sgd", "p_sgd_ricap", "p_sgd"]
    assert order_arms(arms, "iid") == ["iid", "unif_sgd", "unif_sgd_mixup", "unif_sgd_ricap", "p_sgd",
                                       "p_sgd_ricap", "c_sgd"]


# --- pretraining runs as the unit ---------------------------------------------------------
def nested_row(arm, pretrain_seed, seed, miou):
    row = transfer_row("pspnet", arm, seed, {"mIoU": miou})
    return TransferRow(**{**row.__dict__, "pretrain_seed": pretrain_seed,
                          "path": f"/x/pspnet/{arm}/pretrain{pretrain_seed}/seed{seed}/results.json"})


def test_a_nested_delta_is_over_pretraining_runs_and_says_so():
    # backbone means: iid 70, 72, 74; dar 71, 72, 76 -> differences 1, 0, 2: mean 1, std 1,
    # interval 1 ± t(0.975, 2) / sqrt(3) = 1 ± 2.484 -> [-1.5, +3.5]
    values = {("iid", 0): (69, 71), ("iid", 1): (72, 72), ("iid", 2): (73, 75),
              ("dar", 0): (71, 71), ("dar", 1): (71, 73), ("dar", 2): (76, 76)}
    rows = [nested_row(arm, p, s, v[s]) for (arm, p), v in values.items() for s in (0, 1)]
    table = one_table(build_tables(rows, [])[0], "T7")
    delta_row = next(r for r in table.rows if r.kind == "delta")
    assert format_cell(delta_row.values[0], MD) == "+1.0 ± 1.0 [−1.5, +3.5]"
    assert any("over pretraining runs]: a claim about the pretraining methods" in n for n in table.notes)
    assert any("pretraining 0, 1, 2 × fine-tuning 0, 1" in n for n in table.notes)


def test_one_backbone_per_arm_marks_the_delta_conditional_in_every_format():
    rows = [nested_row(arm, 0, s, v) for arm, vs in (("iid", (70, 72)), ("dar", (71, 74))) for s, v in enumerate(vs)]
    table = one_table(build_tables(rows, [])[0], "T7")
    delta_row = next(r for r in table.rows if r.kind == "delta")
    assert delta_row.values[0].conditional
    assert format_cell(delta_row.values[0], MD).endswith("]‡")
    assert format_cell(delta_row.values[0], CSV).endswith("]^") and "ddagger" in format_cell(delta_row.values[0], TEX)
    assert any("says nothing about the pretraining methods" in n for n in table.notes)


def test_voc_targets_sit_side_by_side_in_one_row_per_pretraining_arm():
    det = {"pascal_voc/mAP": 0.30, "pascal_voc/AP50": 0.60, "pascal_voc/AP75": 0.25}
    rows = [transfer_row("faster_rcnn_c4_voc_tiny", "dar", 0, det, arch="resnet18"),
            transfer_row("faster_rcnn_c4_voc_tiny", "iid", 0, {**det, "pascal_voc/AP50": 0.64}, arch="resnet18"),
            transfer_row("faster_rcnn_c4_voc_tiny", "iid", 1, {**det, "pascal_voc/AP50": 0.62}, arch="resnet18"),
            transfer_row("psanet_voc_tiny", "iid", 0, {"mIoU": 40.0, "mAcc": 50.0, "aAcc": 90.0}, arch="resnet18"),
            transfer_row("psanet_voc_tiny", "random_init", 0, {"mIoU": 20.0, "mAcc": 30.0, "aAcc": 80.0},
                         arch="resnet18")]
    table = one_table(build_tables(rows, [])[0], "VOC-methods-tiny")
    assert table.spec.columns == ("Pre-training", "Pre-train Cost", "Total Cost", "det AP", "det AP50", "det AP75",
                                  "seg mIoU", "seg mAcc", "seg aAcc")
    assert md_cells(table) == [
        ["i.i.d.", "100%", "100%", "30.0 ± 0.0", "63.0 ± 1.4", "25.0 ± 0.0", "40.0", "50.0", "90.0"],
        ["DaR", "86%", "86%", "30.0", "60.0", "25.0", "–", "–", "–"],
        ["random init", "0%", "0%", "–", "–", "–", "20.0", "30.0", "80.0"]]


def test_a_conditional_subset_s_voc_row_carries_its_selection_in_the_total_cost():
    subset = replace(transfer_row("psanet_voc_tiny", "clustering_avg_0.5_48px_voc", 0, {"mIoU": 30.0},
                                  arch="resnet18", cost=0.5),
                     conditional={"total_cost": 0.727, "pretrain_cost": 0.5, "selection_cost": 0.227})
    rows = [transfer_row("psanet_voc_tiny", "iid", 0, {"mIoU": 40.0}, arch="resnet18"), subset]
    table = one_table(build_tables(rows, [])[0], "VOC-methods-tiny")
    assert [cells[:3] for cells in md_cells(table)] == [["i.i.d.", "100%", "100%"],
                                                         ["clustering_avg_0.5_48px_voc", "50%", "72.7%"]]


def test_self_supervised_shapes_exports_get_their_knn_monitor_in_a_table_of_their_own():
    rows = [pretrain_row("synthetic", "moco_v2_iid", 0, {"top1": None, "top5": None, "knn_top1": 37.75},
                         arch="resnet18", cost=1.0),
            pretrain_row("synthetic", "moco_v2_dar", 0, {"top1": None, "top5": None, "knn_top1": 37.25},
                         arch="resnet18", cost=0.816),
            pretrain_row("synthetic", "iid", 0, {"top1": 71.8, "top5": 99.0}, arch="resnet18")]
    tables = build_tables([], rows, baseline="moco_v2_iid")[0]
    knn = one_table(tables, "Synthetic-kNN")
    assert knn.spec.columns[-1] == "kNN top-1"
    cells = md_cells(knn)
    assert ["R-18 (moco_v2_iid)", "100%", "37.8"] in cells and ["R-18 (moco_v2_dar)", "81.6%", "37.2"] in cells
    assert any(c[0] == "Δ moco_v2_dar − moco_v2_iid" and c[2] == "−0.5" for c in cells)
    assert [c[0] for c in md_cells(one_table(tables, "Synthetic"))] == ["R-18 (i.i.d.)"]  # supervised: top-1 there
