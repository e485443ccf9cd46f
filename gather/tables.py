"""The paper's tables (T2-T8) from collected runs: pure construction (rows, columns, Δ rows).

T2-T4 (classification) take the DaR paper's layout (build_paper_table): one row per architecture,
named as the paper prints it (ResNet-110), and the arms as columns beside an "original paper"
column (the published numbers the experiment config records as `original_paper`); an arm's cell
holds its improvement over the baseline in brackets, signed as the paper signs it (positive =
better: arm − baseline for an accuracy, baseline − arm for an error). Each is followed by the same
runs in the shape of every other table ("T2-arms"), which keeps the Δ rows against the equal-cost
controls and the Δ std.

Every other table has the same shape, whatever the task: rows grouped by (task or dataset, backbone
arch), so that different architectures are never compared; in a group one row per pretraining
arm (the baseline first) and then one Δ row per other arm (arm − baseline). A cell holds
mean ± sample std over an arm's runs (every backbone × fine-tuning seed); a Δ cell holds the mean ±
std of the paired differences with a 95% Student-t interval (gather.stats.method_delta): over
pretraining runs when both arms have several backbones (each backbone averaged over its
fine-tuning seeds), else over fine-tuning seeds, marked ‡ where that makes it conditional on one
backbone per arm.

Scales come from one table, METRICS below, never from the values: mmdet and mmpose report COCO
AP as fractions (x100, and -1 means "no ground truth of that size"), mmseg reports percent.

Rendering the built tables as md / csv / tex text: gather/render.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from common.vocab import (
    BOX_METRICS,
    EARLIER_METHOD_LABELS,
    IID,
    KEYPOINT_METRICS,
    MASK_METRICS,
    MIOU,
    RANDOM_INIT,
    SCHEDULES,
    TINY_SUFFIX,
    UNRANKED,
    VOC_BOX_METRICS,
)
from gather.collect import PretrainRow, TransferRow, Warn, collect, warn_stderr
from gather.stats import PRETRAINING_RUNS, Delta, Summary, method_delta, replicated, summarize

FRACTION = 100.0  # mmdet / mmpose CocoMetric report fractions
PERCENT = 1.0  # mmseg IoUMetric and the pretraining accuracies report percent


@dataclass(frozen=True)
class Metric:
    """One column: where the number is (`key`), its header, and how to bring it to percent."""

    key: str
    label: str
    scale: float  # FRACTION or PERCENT
    sentinel: float | None = None  # a reported value meaning "not measured" (COCO: -1)
    complement: bool = False  # show 100 − value (an error rate from an accuracy)

    def percent(self, raw: float | None) -> float | None:
        """The value in percent as the table shows it; None when missing or the sentinel."""
        if raw is None or (self.sentinel is not None and raw == self.sentinel):
            return None
        value = raw * self.scale
        return 100.0 - value if self.complement else value

    @property
    def lower_is_better(self) -> bool:
        """An error rate: the complements here are all errors (T4's top-1 / top-5 err)."""
        return self.complement

    @property
    def published_key(self) -> str:
        """Its key in an experiment's `original_paper` entry: "top1" for an accuracy, "top1_err"
        for the error the table shows (the number as the paper printed it)."""
        return f"{self.key}_err" if self.complement else self.key


def _coco(key: str, label: str) -> Metric:
    return Metric(key, label, FRACTION, sentinel=-1.0)


# Column headers in the paper's notation, in the order of the evaluators' metric names.
_SIZES = ("", "50", "75", "S", "M", "L")
BOX = tuple(_coco(key, f"AP{s}^bb") for key, s in zip(BOX_METRICS, _SIZES, strict=True))
MASK = tuple(_coco(key, f"AP{s}^m") for key, s in zip(MASK_METRICS, _SIZES, strict=True))
_KP = ("", "50", "75", "M", "L")
KEYPOINTS = tuple(_coco(key, f"{key.split('/')[1][:2]}{s}")
                  for key, s in zip(KEYPOINT_METRICS, _KP + _KP, strict=True))
MIOU_COLUMN = (Metric(MIOU, "mIoU", PERCENT),)
VOC_AP50 = Metric(VOC_BOX_METRICS[1], "AP50", FRACTION)  # mmdet's VOCMetric: a fraction
TOP1 = Metric("top1", "top-1", PERCENT)
KNN_TOP1 = Metric("knn_top1", "kNN top-1", PERCENT)  # pretrain.moco.KNNAccuracy's monitor
SELF_SUPERVISED_SYNTHETIC = "Synthetic-kNN"
TOP5 = Metric("top5", "top-5", PERCENT)


@dataclass(frozen=True)
class TableSpec:
    """A paper table: its key (T5), title, metric columns, and whether it has a Method column."""

    key: str
    title: str
    metrics: tuple[Metric, ...]
    has_method: bool
    labels: tuple[str, ...] | None = None  # label columns other than the paper tables' own

    @property
    def heading(self) -> str:
        return f"{self.key} {self.title}"

    @property
    def label_columns(self) -> tuple[str, ...]:
        if self.labels is not None:
            return self.labels
        return (("Method",) if self.has_method else ()) + ("Backbone", "Pre-train Cost")

    @property
    def columns(self) -> tuple[str, ...]:
        return self.label_columns + tuple(m.label for m in self.metrics)


ARMS_SUFFIX = "-arms"  # T2-arms: T2's runs with an arm per row and Δ rows, as every other table
_CLASSIFICATION = [
    TableSpec("T2", "CIFAR-10 test accuracy (%)", (TOP1,), False),
    TableSpec("T3", "CIFAR-100 test accuracy (%)", (TOP1,), False),
    TableSpec("T4", "ImageNet val single-crop error (%)",
              (Metric("top1", "top-1 err", PERCENT, complement=True),
               Metric("top5", "top-5 err", PERCENT, complement=True)), False),
]
PAPER_LAYOUT = tuple(s.key for s in _CLASSIFICATION)  # the tables with the DaR paper's own layout
SPECS = {s.key: s for s in [
    *(t for spec in _CLASSIFICATION for t in (
        spec, replace(spec, key=spec.key + ARMS_SUFFIX,
                      title=spec.title + ": a row per arm, then every arm minus the baseline with its "
                            "interval"))),
    TableSpec("T5", "COCO val detection and instance segmentation (%)", BOX + MASK, True),
    TableSpec("T6", "COCO val keypoints (%)", KEYPOINTS, True),
    TableSpec("T7", "Cityscapes val semantic segmentation (%)", MIOU_COLUMN, True),
    TableSpec("T8", "ImageNet-LT top-1 accuracy (%)",
              (Metric("many_shot_top1", "Many-shot", PERCENT),
               Metric("medium_shot_top1", "Medium-shot", PERCENT),
               Metric("few_shot_top1", "Few-shot", PERCENT),
               Metric("top1", "Overall", PERCENT)), False),
    TableSpec("Synthetic", "shapes (demo pretraining data) val accuracy (%)", (TOP1, TOP5), False),
    # a self-supervised export has no classifier: the run's monitor, a leave-one-out kNN on its features
    TableSpec(SELF_SUPERVISED_SYNTHETIC, "shapes (demo pretraining data), self-supervised: leave-one-out kNN top-1 "
              "of the backbone's features on val (%)", (KNN_TOP1,), False),
    # conditional pre-training's / MoCo's VOC transfer: a row per task; its metrics only
    TableSpec("VOC", "Pascal VOC detection (VOC2007 test) and segmentation (VOC 2012 val) (%)",
              tuple(Metric(key, label, FRACTION) for key, label in zip(
                  VOC_BOX_METRICS, ("AP", "AP50", "AP75"), strict=True))
              + (Metric(MIOU, "mIoU", PERCENT), Metric("mAcc", "mAcc", PERCENT), Metric("aAcc", "aAcc", PERCENT)),
              True),
]}
# transfer task (without "_tiny") -> (table, Method column); the order is the table's row order
TASK_TABLES = {"fpn": ("T5", "FPN"), "mask_rcnn": ("T5", "Mask R-CNN"),
               "fpn_gn": ("T5", "FPN (GN)"), "mask_rcnn_gn": ("T5", "Mask R-CNN (GN)"),
               "simplebaseline_xiao": ("T6", "SimpleBaseline (Xiao et al.)"),
               "simplebaseline": ("T6", "SimpleBaseline"), "pspnet": ("T7", "PSPNet"),
               "faster_rcnn_c4_voc": ("VOC", "Faster R-CNN R50-C4"), "psanet_voc": ("VOC", "PSANet")}
DATASET_TABLES = {"cifar10": "T2", "cifar100": "T3", "imagenet": "T4", "imagenet_lt": "T8",
                  "synthetic": "Synthetic"}
# Arazo et al.'s augmentation arms: a budgeted method's arm named "<method>_<augmentation>"
AUGMENT_NAMES = {"ricap": "RICAP", "mixup": "mixup", "randaugment": "RandAugment"}
MethodNames = dict[str, tuple[str, int]]  # {method (or random_init, torchvision): (label, table order)}


def method_names(rows: Iterable = ()) -> MethodNames:
    """How the rows' methods are named and ordered: as their exports say (backbone.json
    method_label, method_order: a new method needs no entry here), else as common.vocab says
    for exports written before those keys and for the arms that are no method."""
    names = dict(EARLIER_METHOD_LABELS)
    names.update({r.method.name: (r.method.label, r.method.order) for r in rows if r.method is not None})
    return names


def split_augment(arm: str, names: MethodNames = EARLIER_METHOD_LABELS) -> tuple[str, str | None]:
    """("unif_sgd", "ricap") for "unif_sgd_ricap"; (arm, None) for an arm without one."""
    base, _, suffix = arm.rpartition("_")
    return (base, suffix) if suffix in AUGMENT_NAMES and base in names else (arm, None)


def task_table(task: str) -> tuple[str, str] | None:
    """(table key, Method label) of a transfer task, e.g. "fpn_tiny" -> ("T5", "FPN (tiny)")."""
    base = task.removesuffix(TINY_SUFFIX)
    if base not in TASK_TABLES:
        return None
    key, method = TASK_TABLES[base]
    return key, method + (" (tiny)" if task != base else "")


# The classification tables' (T2-T4) backbone names as the DaR paper prints them, for every arch
# the classification configs build (pretrain.models.ARCHS), in the paper's row order; the transfer
# tables keep mmdet's "R-50" (arch_name).
PAPER_ARCH_NAMES = {
    "resnet110_cifar": "ResNet-110", "resnet164_cifar": "ResNet-164", "densenet_bc100_cifar": "DenseNet-BC-100",
    "resnet18_cifar": "ResNet-18", "resnet10": "ResNet-10", "resnet18": "ResNet-18", "resnet34": "ResNet-34",
    "resnet50": "ResNet-50", "resnet101": "ResNet-101", "resnet152": "ResNet-152",
    "densenet121": "DenseNet-121", "densenet169": "DenseNet-169", "mobilenet_v1": "MobileNet-V1-1.0",
}


def paper_arch_name(arch: str) -> str:
    """A classification table's backbone name: resnet110_cifar -> ResNet-110; unknown as it is."""
    return PAPER_ARCH_NAMES.get(arch, arch)


def paper_arch_order(arch: str) -> tuple:
    """The paper's row order (ResNets by depth, then DenseNets, MobileNet), unknown archs last."""
    order = list(PAPER_ARCH_NAMES)
    return (order.index(arch) if arch in order else len(order), arch)


def arch_name(arch: str) -> str:
    """Paper-style backbone name: resnet50 -> R-50, densenet121 -> DenseNet-121."""
    for pattern, fmt in ((r"resnet(\d+)", "R-{}"), (r"densenet(\d+)", "DenseNet-{}"),
                         (r"mobilenet_?v1", "MobileNet-V1")):
        match = re.fullmatch(pattern, arch)
        if match:
            return fmt.format(*match.groups())
    return arch


def run_arm(arm: str, budget: float | None, control_of: str | None) -> str:
    """The key a run is tabled under: its arm, and its budget when its method takes one
    ("unif_sgd@0.3"); an equal-cost control's label already says what it controls."""
    return arm if budget is None or control_of else f"{arm}@{budget:g}"


def arm_name(arm: str, control_of: str | None = None, names: MethodNames = EARLIER_METHOD_LABELS) -> str:
    """Display name of an arm: iid -> i.i.d., dar -> DaR (its method's label in `names`);
    unknown arms as they are. An equal-cost control (label "<arm>-<method>") reads "random drop
    at DaR cost", a budgeted run ("unif_sgd@0.3") "unif-SGD at budget 0.3"."""
    if "@" in arm:
        base, budget = arm.rsplit("@", 1)
        return f"{arm_name(base, names=names)} at budget {budget}"
    matched = re.fullmatch(r"(.+)_cost(\d+)", arm)
    if matched:  # a preset solved for a reported cost, e.g. dar_cost86
        return f"{arm_name(matched.group(1), names=names)} (cost-matched {matched.group(2)}%)"
    base, augment = split_augment(arm, names)
    if augment:
        return f"{arm_name(base, names=names)} + {AUGMENT_NAMES[augment]}"
    if control_of and arm.startswith(control_of + "-"):
        method = arm[len(control_of) + 1:]
        return f"{_label(method, names)} at {_label(control_of, names)} cost"
    return _label(arm, names)


def _label(method: str, names: MethodNames) -> str:
    return names[method][0] if method in names else method


def order_arms(arms: Iterable[str], baseline: str, controls: dict | None = None,
               names: MethodNames = EARLIER_METHOD_LABELS) -> list[str]:
    """The baseline first, then the arms by their method's order in `names`, then the others
    alphabetically; each equal-cost control (`controls`: {control: its arm}) right after its arm."""
    controls = controls or {}

    def key(a):
        parent = controls.get(a, a)
        base, _, budget = parent.partition("@")
        method, augment = split_augment(base, names)  # an augmentation arm right after its method's
        rank = names[method][1] if method in names else UNRANKED
        return (parent != baseline, rank, method, augment or "", float(budget or "inf"),
                a in controls, a)

    return sorted(set(arms), key=key)


# --- table contents: plain data, formatted only at the end ---------------------------------
@dataclass(frozen=True)
class Cost:
    """A Pre-train Cost cell: a fraction (1.0 = i.i.d.), or a difference of fractions."""

    value: float | None
    signed: bool = False


@dataclass(frozen=True)
class CostedSummary:
    """A budget-table cell: the metric over seeds and the runs' mean measured cost."""

    summary: Summary | None
    cost: float | None


@dataclass(frozen=True)
class Row:
    """One row: an arm's results (kind "arm") or an arm − baseline difference (kind "delta")."""

    kind: str
    group: str  # "FPN R-50": what the row is compared within
    arm: str
    labels: tuple  # str or Cost, one per label column
    values: tuple  # Summary / Delta / None (missing), one per metric column


@dataclass
class Table:
    """A built table: its spec, rows in print order, and notes printed under it."""

    spec: TableSpec
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    """A table's view of one run (transfer or pretraining): what one row averages over."""

    arm: str
    seed: int | None  # fine-tuning seed (None: a pretraining run measured by itself)
    cost: float | None
    metrics: dict
    control_of: str | None = None  # the arm this run is an equal-cost control of
    pretrain_seed: int | None = None  # the backbone's pretraining seed (None: random init)


def seed_values(runs: list[Run], metric: Metric | None) -> dict:
    """{(pretraining seed, fine-tuning seed): value in percent or None} of one arm's runs (all
    None without a metric: just the design's keys)."""
    return {(r.pretrain_seed, r.seed): metric.percent(r.metrics.get(metric.key)) if metric else None for r in runs}


def mean_cost(runs: list[Run]) -> float | None:
    """The mean measured cost of an arm's runs (None when no run reports one)."""
    costs = [r.cost for r in runs if r.cost is not None]
    return sum(costs) / len(costs) if costs else None


def _sorted_seeds(seeds) -> list:
    return sorted(set(seeds), key=lambda s: (s is None, s))


def _seeds(runs: list[Run]) -> str:
    """"0, 1" (one seed kind), or "pretraining 0, 1 × fine-tuning 0, 1" (a nested design)."""
    pretrain = _sorted_seeds(r.pretrain_seed for r in runs if r.pretrain_seed is not None)
    finetune = _sorted_seeds(r.seed for r in runs if r.seed is not None)
    if pretrain and finetune:
        return f"pretraining {', '.join(map(str, pretrain))} × fine-tuning {', '.join(map(str, finetune))}"
    return ", ".join(map(str, pretrain or finetune))


def unpaired_units(reference: list[Run], arm: list[Run]) -> list:
    """The arm's units without a counterpart in the reference: pretraining seeds when both arms
    have pretraining runs of their own, fine-tuning seeds otherwise."""
    if replicated(seed_values(reference, None)) and replicated(seed_values(arm, None)):
        return _sorted_seeds({r.pretrain_seed for r in arm} - {r.pretrain_seed for r in reference})
    return _sorted_seeds({r.seed for r in arm} - {r.seed for r in reference})


def delta_notes(group: str, deltas: list[Delta]) -> list[str]:
    """What each kind of Δ in a group is over, in words (gather.stats.method_delta)."""
    notes = []
    if any(not d.paired for d in deltas):
        notes.append(f"{group}: † no seed ran in both arms: Δ is the difference of the means, not paired.")
    if any(d.paired and d.unit == PRETRAINING_RUNS for d in deltas):
        notes.append(f"{group}: Δ of two pretrained arms = mean ± std over pretraining seeds of the paired "
                     "difference of backbone means (each over its fine-tuning seeds) [95% Student-t interval "
                     "over pretraining runs]: a claim about the pretraining methods.")
    if any(d.paired and d.conditional for d in deltas):
        notes.append(f"{group}: ‡ one pretraining run per arm: the Δ is conditional on these two backbones and "
                     "says nothing about the pretraining methods (pretrain_seeds with >= 2 seeds per arm would); "
                     "a ± std [95% interval] beside it is over fine-tuning seeds only.")
    if any(d.paired and not d.conditional and d.unit != PRETRAINING_RUNS and d.n >= 2 for d in deltas):
        notes.append(f"{group}: Δ against an arm without pretraining runs of its own (random init, a "
                     "downloaded checkpoint) = mean ± std of the per-fine-tuning-seed differences [95% "
                     "Student-t interval over fine-tuning seeds]; a pretrained side is averaged over its backbones.")
    return notes


def build_group(spec: TableSpec, method: str | None, arch: str, runs: list[Run],
                baseline: str, names: MethodNames = EARLIER_METHOD_LABELS) -> tuple[list[Row], list[str]]:
    """Rows (arms, then Δ rows) and notes of one (task or dataset, arch) group."""
    arch_label = paper_arch_name if spec.key.removesuffix(ARMS_SUFFIX) in PAPER_LAYOUT else arch_name
    group = f"{method} {arch_label(arch)}" if method else arch_label(arch)
    by_arm: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        by_arm[run.arm].append(run)
    controls = {r.arm: r.control_of for r in runs if r.control_of}

    def name(a: str) -> str:
        return arm_name(a, controls.get(a), names)

    arms = order_arms(by_arm, baseline, controls, names)
    lead = (method,) if spec.has_method else ()
    rows, notes = [], []
    for arm in arms:
        values = tuple(summarize(v for v in seed_values(by_arm[arm], m).values() if v is not None)
                       for m in spec.metrics)
        labels = lead + (f"{arch_label(arch)} ({name(arm)})", Cost(mean_cost(by_arm[arm])))
        rows.append(Row("arm", group, arm, labels, values))
    if any(len(r) > 1 for r in by_arm.values()):
        notes.append(f"{group}: mean ± std (ddof=1) over runs, seeds "
                     + "; ".join(f"{name(a)}: {_seeds(by_arm[a])}" for a in arms) + ".")
    # Δ rows: every arm against the baseline, then every arm against each of its equal-cost
    # controls (kind "control_delta": the comparison at the same cost).
    pairs = [("delta", baseline, arm) for arm in arms if arm != baseline] if baseline in by_arm else []
    pairs += [("control_delta", control, parent) for control, parent in controls.items()
              if parent in by_arm and control in by_arm]
    pairs.sort(key=lambda p: (p[0] != "delta", arms.index(p[2]), arms.index(p[1])))
    if baseline not in by_arm:
        notes.append(f"{group}: no {name(baseline)} (baseline) run, so no Δ rows against it.")
    for kind, reference, arm in pairs:
        ref_runs = by_arm[reference]
        values = tuple(method_delta(seed_values(ref_runs, m), seed_values(by_arm[arm], m)) for m in spec.metrics)
        cost, ref_cost = mean_cost(by_arm[arm]), mean_cost(ref_runs)
        cost_delta = cost - ref_cost if cost is not None and ref_cost is not None else None
        labels = lead + (f"Δ {name(arm)} − {name(reference)}", Cost(cost_delta, True))
        rows.append(Row(kind, group, arm, labels, values))
        unpaired = unpaired_units(ref_runs, by_arm[arm])
        if unpaired and len(unpaired) < len(by_arm[arm]):
            notes.append(f"{group}: {name(arm)} seed(s) {', '.join(map(str, unpaired))} "
                         f"have no {name(reference)} run and are left out of the paired Δ.")
    return rows, notes + delta_notes(group, [v for r in rows if r.kind != "arm" for v in r.values
                                             if isinstance(v, Delta)])


def provenance_notes(group: str, provenance: list[dict]) -> list[str]:
    """A note per provenance field (recipe hash, pretraining dataset) that differs within a
    group: such rows are not a controlled comparison, though they share task and arch."""
    notes = []
    for name in sorted({k for p in provenance for k in p}):
        values = sorted({str(p[name]) for p in provenance if p.get(name) is not None})
        if len(values) > 1:
            notes.append(f"{group}: runs differ in {name} ({', '.join(values)}): "
                         "compare with care.")
    return notes


def _group_tables(entries, baseline: str, names: MethodNames) -> list[Table]:
    """Tables from (table key, sort key, method, arch, Run, provenance) entries."""
    grouped: dict = defaultdict(list)
    for key, order, method, arch, run, provenance in entries:
        grouped[(key, order, method, arch)].append((run, provenance))
    tables: dict[str, Table] = {}

    def row_order(group_key):  # T2-T4's architectures in the paper's row order, the others by name
        key, rank, method, arch = group_key
        return key, rank, method or "", paper_arch_order(arch) if key.removesuffix(ARMS_SUFFIX) in PAPER_LAYOUT \
            else (0, arch)

    for group_key in sorted(grouped, key=row_order):
        key, _, method, arch = group_key
        table = tables.setdefault(key, Table(SPECS[key]))
        members = grouped[group_key]
        rows, notes = build_group(table.spec, method, arch, [m[0] for m in members], baseline, names)
        table.rows.extend(rows)
        table.notes.extend(notes + provenance_notes(rows[0].group, [m[1] for m in members]))
    return [tables[k] for k in SPECS if k in tables]


# --- T2-T4 in the DaR paper's layout: a row per architecture, the arms as columns ------------
@dataclass(frozen=True)
class Published:
    """An "original paper" cell: a published number as the paper printed it (percent)."""

    value: float


@dataclass(frozen=True)
class ArmCell:
    """A paper-layout cell: an arm's mean ± std over its runs and, in brackets, its improvement
    over the baseline (None for the baseline's own column)."""

    summary: Summary | None
    improvement: Delta | None = None


ORIGINAL_PAPER = "original paper"
OriginalPaper = dict[str, dict[str, dict[str, float]]]  # {dataset: {arch: {published_key: percent}}}


def check_original_paper(original: OriginalPaper | None) -> None:
    """ValueError naming the entry unless `original` is {dataset: {arch: {key: percent}}} over the
    datasets of T2-T4 and their columns' published keys (an experiment's `original_paper`)."""
    layout = {d: SPECS[t] for d, t in DATASET_TABLES.items() if t in PAPER_LAYOUT}
    if not isinstance(original, dict):
        raise ValueError(f"original_paper must be a dict {{dataset: {{arch: {{metric: percent}}}}}}, "
                         f"got {type(original).__name__}")
    for dataset, archs in original.items():
        if dataset not in layout:
            raise ValueError(f"original_paper.{dataset}: no paper-layout table for this dataset "
                             f"(one of {', '.join(layout)})")
        keys = [m.published_key for m in layout[dataset].metrics]
        for arch, values in (archs or {}).items():
            for key, value in (values or {}).items():
                where = f"original_paper.{dataset}.{arch}.{key}"
                if key not in keys:
                    raise ValueError(f"{where}: {layout[dataset].key} has no such column (one of {', '.join(keys)})")
                if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
                    raise ValueError(f"{where}: {value!r} is not a percentage in [0, 100]")


def improvement(reference: list[Run], arm: list[Run], metric: Metric) -> Delta | None:
    """The paper's "improvement" of `arm` over `reference`: arm − reference for an accuracy,
    reference − arm for an error (positive = better), with the interval of method_delta."""
    delta = method_delta(seed_values(reference, metric), seed_values(arm, metric))
    if delta is None or not metric.lower_is_better:
        return delta
    return replace(delta, mean=-delta.mean, low=None if delta.high is None else -delta.high,
                   high=None if delta.low is None else -delta.low)


def _percent_text(fraction: float) -> str:
    return f"{100 * fraction:.1f}".removesuffix(".0")


def cost_header(name: str, costs: list[float | None]) -> str:
    """An arm's column header with its measured cost: "DaR (73.1% cost)", a range when the
    architectures' runs differ ("DaR (72-74% cost)"), the bare name without a measured cost."""
    texts = [_percent_text(c) for c in costs if c is not None]
    if not texts:
        return name
    low, high = min(texts, key=float), max(texts, key=float)
    return f"{name} ({low if low == high else f'{low}-{high}'}% cost)"


def build_paper_table(spec: TableSpec, dataset: str, by_arch: dict[str, list[Run]], baseline: str,
                      names: MethodNames = EARLIER_METHOD_LABELS,
                      original: OriginalPaper | None = None) -> Table:
    """T2-T4 as the DaR paper lays them out: a row per architecture (the paper's names and order);
    columns "original paper" (when the experiment records a published number for this dataset),
    the baseline ("re-implementation") and every other arm, each with its measured cost in the
    header and its improvement over the baseline in brackets; per metric for T4 (top-1, top-5)."""
    published = (original or {}).get(dataset) or {}
    controls = {r.arm: r.control_of for runs in by_arch.values() for r in runs if r.control_of}
    arms = order_arms({r.arm for runs in by_arch.values() for r in runs}, baseline, controls, names)

    def name(a: str) -> str:
        return arm_name(a, controls.get(a), names)

    groups = ([ORIGINAL_PAPER] if published else []) + arms
    headers = {arm: f"re-implementation ({name(arm)})" if arm == baseline
               else cost_header(name(arm), [mean_cost([r for r in runs if r.arm == arm])
                                            for runs in by_arch.values()])
               for arm in arms}
    headers[ORIGINAL_PAPER] = ORIGINAL_PAPER
    several = len(spec.metrics) > 1
    columns = tuple(Metric(m.key, f"{headers[g]} {m.label}" if several else headers[g], m.scale, m.sentinel,
                           m.complement) for g in groups for m in spec.metrics)
    table = Table(TableSpec(spec.key, spec.title, columns, False, labels=("Backbone",)))
    deltas = []
    for arch in sorted(by_arch, key=paper_arch_order):
        runs = defaultdict(list)
        for r in by_arch[arch]:
            runs[r.arm].append(r)
        cells = []
        for group in groups:
            for m in spec.metrics:
                if group == ORIGINAL_PAPER:
                    value = (published.get(arch) or {}).get(m.published_key)
                    cells.append(None if value is None else Published(float(value)))
                    continue
                values = [v for v in seed_values(runs[group], m).values() if v is not None]
                delta = (improvement(runs[baseline], runs[group], m)
                         if group != baseline and runs[baseline] and runs[group] else None)
                deltas += [delta] if delta is not None else []
                cells.append(ArmCell(summarize(values), delta) if runs[group] else None)
        # one group for the whole table (no rule between rows); the row's "arm" is its architecture
        table.rows.append(Row("arm", spec.key, arch, (paper_arch_name(arch),), tuple(cells)))
    sign = "baseline − arm (an error)" if any(m.lower_is_better for m in spec.metrics) else "arm − baseline"
    table.notes.append(f"{spec.key}: mean ± std (ddof=1) over each arm's runs; in brackets the improvement over "
                       f"the re-implementation ({name(baseline)}), as the paper signs it: {sign}, positive = "
                       f"better, with its 95% interval; every arm's Δ std and the Δ against the equal-cost "
                       f"controls: table {spec.key}{ARMS_SUFFIX}.")
    if published:
        table.notes.append(f"{spec.key}: \"{ORIGINAL_PAPER}\": the published number the experiment config "
                           "records (`original_paper`, its source there); empty where it records none.")
    if baseline not in arms:
        table.notes.append(f"{spec.key}: no {name(baseline)} (baseline) run, so no improvement in brackets.")
    table.notes.extend(delta_notes(spec.key, deltas))
    return table


OWN_COST = "own cost"  # the budget tables' column for runs of a method without a budget


def build_budget_tables(transfer: list[TransferRow], pretrain: list[PretrainRow],
                        baseline: str = IID) -> list[Table]:
    """Arazo et al.'s layout for every (dataset or task, arch) group that has budgeted runs:
    methods as rows, budgets as columns, the headline metric (top-1; box AP, keypoint AP, mIoU)
    as mean ± std over seeds with the runs' measured cost. Runs of methods without a budget
    (i.i.d., DaR, its controls, InfoBatch) fill an "own cost" column."""
    names = method_names([*transfer, *pretrain])
    groups: dict = defaultdict(list)
    for r in pretrain:
        if r.dataset in DATASET_TABLES:
            spec = SPECS[DATASET_TABLES[r.dataset]]
            groups[(spec.key, r.dataset, r.arch, TOP1)].append(r)
    for r in transfer:
        found = task_table(r.task)
        if found is not None:
            spec = SPECS[found[0]]
            what = f"{found[1]} {r.schedule}" if r.schedule else found[1]  # never mix schedules
            groups[(spec.key, what, r.arch, spec.metrics[0])].append(r)
    tables = []
    for (key, what, arch, metric), rows in sorted(groups.items(), key=lambda g: g[0][:3]):
        budgets = sorted({r.budget for r in rows if r.budget is not None and not r.control_of})
        if not budgets:
            continue
        columns = [*budgets, *([None] if any(r.budget is None or r.control_of for r in rows) else [])]
        by_arm: dict = defaultdict(lambda: defaultdict(list))
        controls = {r.arm: r.control_of for r in rows if r.control_of}
        for r in rows:
            column = None if r.budget is None or r.control_of else r.budget
            by_arm[r.arm][column].append(r)
        spec = TableSpec(f"{key}-budget", f"{metric.label} (%) by pre-training budget (Arazo et al.'s "
                         f"layout): {what}",
                         tuple(Metric(metric.key, OWN_COST if c is None else f"budget {c:g}", metric.scale)
                               for c in columns), has_method=True, labels=("Method", "Backbone"))
        table = Table(spec)
        for arm in order_arms(by_arm, baseline, controls, names):
            cells = []
            for column in columns:
                runs = by_arm[arm].get(column, [])
                values = [metric.percent(r.metrics.get(metric.key)) for r in runs]
                costs = [r.cost for r in runs if r.cost is not None]
                cells.append(CostedSummary(summarize(v for v in values if v is not None) if runs else None,
                                           sum(costs) / len(costs) if costs else None))
            table.rows.append(Row("arm", f"{what} {arch_name(arch)}", arm,
                                  (arm_name(arm, controls.get(arm), names), arch_name(arch)), tuple(cells)))
        table.notes.append(f"{what} {arch_name(arch)}: mean ± std (ddof=1) over seeds; in parentheses the "
                           "measured pre-training cost (i.i.d. = 100%).")
        tables.append(table)
    return tables


# --- conditional pre-training (Chakraborty et al.): selection method × target ---------------
CONDITIONAL_TASKS = {"finegrained_finetune": "fine-tuning", "finegrained_linear": "linear probe"}
SELECTION_NAMES = {"random": "Random", "domain_classifier": "Domain classifier",
                   "clustering_avg": "Clustering (avg. distance)", "clustering_min": "Clustering (min. distance)",
                   "active": "Active learning", "inverse_active": "Inverse active learning"}
COST_COLUMNS = ("Selection Cost", "Pre-train Cost", "Selection + Pre-train", "Wall-clock (h)",
                "Pre-train wall-clock vs full res.")


def conditional_row_key(r: TransferRow) -> tuple:
    """(on a subset?, kept fraction, −resolution, method rank, method): a row of the conditional
    table; runs on the whole source (i.i.d., torchvision, random init) first, then by fraction,
    full resolution before low, and the methods in the paper's order."""
    c = r.conditional or {}
    method = c.get("method") or r.arm
    rank = list(SELECTION_NAMES).index(method) if method in SELECTION_NAMES else -1
    return (c.get("fraction") is not None, c.get("fraction") or 1.0, -(c.get("image_size") or 0), rank, method)


def full_resolution_seconds(by_row: dict) -> dict:
    """{(fraction, method): mean pretraining wall-clock at the group's highest resolution}."""
    best: dict = {}
    for (_, fraction, size, _, method), runs in by_row.items():
        seconds = [(r.conditional or {}).get("pretrain_wall_clock_s") for r in runs]
        seconds = [s for s in seconds if s is not None]
        if seconds and (best.get((fraction, method), (1, None))[0] > size):  # size is −resolution
            best[(fraction, method)] = (size, sum(seconds) / len(seconds))
    return {k: v[1] for k, v in best.items()}


def build_conditional_tables(transfer: list[TransferRow]) -> list[Table]:
    """The paper's layout per (fine-grained task, arch): one row per selection method × subset
    fraction × pretraining resolution, one top-1 column per target (mean ± std over seeds), and
    the measured costs as shares of i.i.d. pretraining on the whole source at full resolution:
    the selection's (feature passes, FLOPs), the pretraining's (pixel-weighted), their sum, and
    the wall-clock hours of both (mean over the row's runs)."""
    names = method_names(transfer)
    groups: dict = defaultdict(list)
    for r in transfer:
        base = r.task.removesuffix(TINY_SUFFIX)
        if base in CONDITIONAL_TASKS:
            groups[(base != r.task, base, r.task, r.arch)].append(r)
    tables = []
    for (_, base, task, arch), rows in sorted(groups.items()):
        targets = sorted({(r.conditional or {}).get("target") or "target" for r in rows})
        what = f"{CONDITIONAL_TASKS[base]}{' (tiny)' if task != base else ''}"
        spec = TableSpec(f"CPT-{task}", f"Conditional pre-training: {what} top-1 (%) by selection method, "
                         f"{arch_name(arch)} (Chakraborty et al.'s layout)",
                         tuple(Metric("top1", t, PERCENT) for t in targets)
                         + tuple(Metric("", c, PERCENT) for c in COST_COLUMNS),
                         has_method=True, labels=("Selection", "Subset", "Pre-train Res."))
        table = Table(spec)
        by_row: dict = defaultdict(list)
        for r in rows:
            by_row[conditional_row_key(r)].append(r)
        full_res = full_resolution_seconds(by_row)
        for key in sorted(by_row):
            _, fraction, size, _, method = key
            size = -size
            runs = by_row[key]
            cells = []
            for target in targets:
                values = [TOP1.percent(r.metrics.get("top1")) for r in runs
                          if ((r.conditional or {}).get("target") or "target") == target]
                values = [v for v in values if v is not None]
                cells.append(summarize(values) if values else None)

            def mean(name, runs=runs):
                values = [(r.conditional or {}).get(name) for r in runs]
                values = [v for v in values if v is not None]
                return sum(values) / len(values) if values else None

            hours, seconds = mean("wall_clock_s"), mean("pretrain_wall_clock_s")
            reference = full_res.get((fraction, method))
            cells += [Cost(mean("selection_cost")), Cost(mean("pretrain_cost")), Cost(mean("total_cost")),
                      None if hours is None else f"{hours / 3600:.3g}",
                      f"{seconds / reference:.2f}×" if seconds is not None and reference else None]
            label = SELECTION_NAMES.get(method) or arm_name(method, names=names)
            table.rows.append(Row("arm", f"{task} {arch_name(arch)}", method,
                                  (label, None if method == RANDOM_INIT else f"{100 * fraction:g}%",
                                   f"{size} px" if size else None), tuple(cells)))
        table.notes.append(f"{what} {arch_name(arch)}: top-1 mean ± std (ddof=1) over seeds; costs in % of i.i.d. "
                           "pretraining on the whole source at its reference resolution (FLOP-counted selection "
                           "passes; pretraining sample-steps × (resolution / reference)²: a FLOP model), mean "
                           "over the row's runs. Wall-clock (h): measured, selection + pretraining; the last "
                           "column: measured pretraining wall-clock over the same method and subset's at the "
                           "highest resolution (the paper reports hours, about 0.6× at 112 vs 224 px).")
        tables.append(table)
    return tables


# Chakraborty et al.'s VOC columns: each VOC task's metrics, side by side in one row per arm
VOC_TARGETS = {"faster_rcnn_c4_voc": "det", "psanet_voc": "seg"}


def total_cost(row: TransferRow) -> float | None:
    """What a run's backbone was bought at: its pretraining plus, for a conditional subset, the
    selection (the feature networks' training and passes); None if unknown."""
    total = (row.conditional or {}).get("total_cost")
    return row.cost if total is None else total


def build_voc_tables(transfer: list[TransferRow], baseline: str = IID) -> list[Table]:
    """The paper's layout for the VOC targets, per (scale, arch): one row per pretraining arm
    (the baseline first), its measured pre-training cost, then detection AP/AP50/AP75 and
    segmentation mIoU/mAcc/aAcc side by side (mean ± std over seeds). The per-task table "VOC"
    keeps the Δ rows and their intervals."""
    names = method_names(transfer)
    groups: dict = defaultdict(list)
    for r in transfer:
        base = r.task.removesuffix(TINY_SUFFIX)
        if base in VOC_TARGETS:
            groups[(base != r.task, r.arch)].append(r)
    voc = SPECS["VOC"]
    tables = []
    for (tiny, arch), rows in sorted(groups.items()):
        columns = [(task, Metric(m.key, f"{short} {m.label}", m.scale)) for task, short in VOC_TARGETS.items()
                   for m in voc.metrics if (m.key in VOC_BOX_METRICS) == (task == "faster_rcnn_c4_voc")]
        spec = TableSpec(f"VOC-methods{'-tiny' if tiny else ''}",
                         f"Pascal VOC detection and segmentation by pretraining method, {arch_name(arch)}"
                         f"{' (tiny)' if tiny else ''} (Chakraborty et al.'s layout) (%)",
                         tuple(m for _, m in columns), False, labels=("Pre-training", "Pre-train Cost", "Total Cost"))
        table = Table(spec)
        by_arm: dict = defaultdict(list)
        for r in rows:
            by_arm[r.arm].append(r)
        for arm in order_arms(by_arm, baseline, None, names):
            cells = []
            for task, metric in columns:
                values = [metric.percent(r.metrics.get(metric.key)) for r in by_arm[arm]
                          if r.task.removesuffix(TINY_SUFFIX) == task]
                values = [v for v in values if v is not None]
                cells.append(summarize(values) if values else None)
            costs = [r.cost for r in by_arm[arm] if r.cost is not None]
            totals = [t for t in map(total_cost, by_arm[arm]) if t is not None]
            table.rows.append(Row("arm", f"VOC {arch_name(arch)}", arm,
                                  (arm_name(arm, names=names), Cost(sum(costs) / len(costs) if costs else None),
                                   Cost(sum(totals) / len(totals) if totals else None)),
                                  tuple(cells)))
        table.notes.append(f"VOC {arch_name(arch)}: mean ± std (ddof=1) over seeds; pre-train cost in % of the "
                           "i.i.d. run of the same objective; total cost: with a conditional subset's selection "
                           "(pretrain/selection.py cost); Δ rows with intervals: table VOC.")
        tables.append(table)
    return tables


def build_tables(transfer: list[TransferRow], pretrain: list[PretrainRow], baseline: str = IID,
                 original_paper: OriginalPaper | None = None) -> tuple[list[Table], list[str]]:
    """All tables with data, in paper order, and warnings (runs no table knows, skipped).
    `original_paper` (an experiment's, checked by check_original_paper): the published numbers
    T2-T4 print beside the measured arms."""
    warnings, entries = [], []
    paper_runs: dict = defaultdict(lambda: defaultdict(list))  # {dataset: {arch: [Run]}} of T2-T4
    names = method_names([*transfer, *pretrain])
    task_rank = {t: i for i, t in enumerate(TASK_TABLES)}
    conditional = build_conditional_tables(transfer)
    transfer = [r for r in transfer if r.task.removesuffix(TINY_SUFFIX) not in CONDITIONAL_TASKS]
    for r in transfer:
        found = task_table(r.task)
        if found is None:
            warnings.append(f"skipping {r.path}: unknown task {r.task!r} "
                            f"(known: {', '.join(TASK_TABLES)} and their {TINY_SUFFIX} variants)")
            continue
        base = r.task.removesuffix(TINY_SUFFIX)
        # paper-scale groups before tiny ones; a task's schedules in increasing length
        order = (r.task != base, task_rank[base], SCHEDULES.index(r.schedule) if r.schedule in SCHEDULES else -1)
        # A detection row's Method names its schedule, and each schedule is a group of its own:
        # Δ rows never pair runs trained for different lengths.
        method = f"{found[1]} {r.schedule}" if r.schedule else found[1]
        run = Run(run_arm(r.arm, r.budget, r.control_of), r.seed, r.cost, r.metrics, r.control_of, r.pretrain_seed)
        entries.append((found[0], order, method, r.arch, run,
                        {"config_hash": r.config_hash, "pretraining dataset": r.pretrain_dataset}))
    for r in pretrain:
        if r.dataset not in DATASET_TABLES:
            warnings.append(f"skipping {r.path}: no table for dataset {r.dataset!r}")
            continue
        # a pretraining run measured by itself: its own seed is the unit
        run = Run(run_arm(r.arm, r.budget, r.control_of), None, r.cost, r.metrics, r.control_of, r.pretrain_seed)
        key = DATASET_TABLES[r.dataset]
        if key == "Synthetic" and r.metrics.get(TOP1.key) is None and r.metrics.get(KNN_TOP1.key) is not None:
            key = SELF_SUPERVISED_SYNTHETIC
        if key in PAPER_LAYOUT:
            paper_runs[r.dataset][r.arch].append(run)
            key += ARMS_SUFFIX
        entries.append((key, (False, 0), None, r.arch, run, {}))
    paper = [build_paper_table(SPECS[DATASET_TABLES[dataset]], dataset, by_arch, baseline, names, original_paper)
             for dataset, by_arch in paper_runs.items()]
    order = list(SPECS)
    tables = sorted(paper + _group_tables(entries, baseline, names), key=lambda t: order.index(t.spec.key))
    return (tables + build_voc_tables(transfer, baseline)
            + build_budget_tables(transfer, pretrain, baseline) + conditional, warnings)


def gather_tables(results_dir: str | Path, baseline: str = IID, warn: Warn = warn_stderr,
                  original_paper: OriginalPaper | None = None) -> tuple[list[Table], list[PretrainRow]]:
    """(tables, pretraining rows) of `results_dir`, every skipped file or run warned about."""
    transfer, pretrain = collect(results_dir, warn)
    tables, warnings = build_tables(transfer, pretrain, baseline, original_paper)
    for message in warnings:
        warn(message)
    return tables, pretrain
