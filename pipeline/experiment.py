"""Experiment configs and their plan: which cells (pretraining runs, transfer runs) to run.

An experiment (configs/experiments/*.py, an mmengine Python config) names:
  name             the run directory under runs/ (default: the file's stem)
  arms             {arm: pretraining config path, or None for the random-init arm, or
                   dict(config=path, controls=[method, ...], seed_offset=N)}: a relative path is
                   looked up in the current directory, then in the checkout. `seed_offset` trains
                   pretraining seed s of the arm with seed s + N (an A/A experiment: the same config
                   as a second arm whose backbones differ only by their seeds); its runs stay paired
                   with seed s of the other arms. `controls` adds, for each named
                   method, an equal-cost control of the arm (pretrain/methods: `random_drop`
                   takes the arm's DaR schedule, `budget` its planned cost) as an arm of its own,
                   labelled "<arm>-<method>", pretrained and transferred like the others
  variants         optional list of dict(name=..., options={...}): the same arms pretrained
                   again with these overrides (e.g. one per architecture for the ImageNet
                   table); default one unnamed variant without overrides
  pretrain_options overrides applied to every pretraining config (e.g. shorter runs)
  budgets          optional list, e.g. [0.2, 0.3, 0.5]: every arm whose method takes a `budget`
                   parameter is pretrained (and transferred) once per budget, as "<arm>_b<budget>";
                   the others once
  pretrain_seeds   seeds of the pretraining runs (default [0]): every pretrained arm is pretrained
                   once per seed, and pretraining seed s of one arm is paired with seed s of another
                   (gather.stats: a Δ between methods is a mean over these pairs, its interval over
                   pretraining runs)
  tasks            {transfer task: dict(cfg_options={...}, schedules=[...], arms=[...])}; empty for
                   classification-only. `schedules` (detection tasks): run every arm once per
                   schedule, e.g. ["1x", "3x", "6x"] (transfer.schedule; default: the config's
                   own, one run); `arms`: only these arms on this task (default: all), e.g. the
                   random-init arm alone on a GroupNorm task at a longer schedule; `seeds`: this
                   task's fine-tuning seeds (default: the experiment's), e.g. more where fine-tuning
                   is noisy and cheap (tools/plan_seeds.py says how many)
  seeds            seeds of the fine-tuning runs (default [0]), crossed with `pretrain_seeds`:
                   every backbone is fine-tuned once with every seed (k backbones × m seeds per
                   arm and task; the cell directory is <arm>/pretrain<s>/seed<m> when there are
                   several pretraining seeds, <arm>/seed<m> with one)
  random_init_seeds  seeds of the arms without pretraining (default: `seeds`); fewer saves
                   time where that arm is only the lower anchor, not a side of a paired Δ
  demo_data        optional dict(coco=dict(...), cityscapes=dict(...), voc=dict(...)): generate the embedded
                   downstream data and point the tasks at it
  baseline         the arm the tables compare against (default "iid")
  original_paper   optional, the published numbers T2-T4 print in their "original paper" column beside
                   the measured arms: {dataset: {arch: {metric: percent}}} with dataset cifar10,
                   cifar100 or imagenet, arch as the variants set it (e.g. "resnet110_cifar"), metric
                   "top1" for an accuracy, "top1_err" / "top5_err" for T4's errors, each as the paper
                   printed it (gather.tables.check_original_paper); quote the source beside each
  slurm            optional dict(pretrain=dict(...), transfer=dict(...)): each stage's job
                   resources for `--executor slurm` (partition, gpus_per_node, nodes, time,
                   cpus_per_task, mem_gb, additional; pipeline.cluster)
  selection        optional, conditional pre-training (Chakraborty et al.): dict(
                     source=<pretraining config of the whole source set>,
                     targets={name: dict(root=<ImageFolder train/val root, or a VOCdevkit: its
                                   training images, unlabelled (pretrain.data.VOCImages)>) or
                              dict(generate=dict(<pretrain.synthetic.write_shapes_folder args>)) or
                              dict(demo_data="voc"): the experiment's generated VOC scenes,
                              optionally task_options={task: {cfg key: value}}: that target's
                              transfer cells' cfg_options (e.g. the paper's per-target recipe),
                              and tasks=[...]: the experiment's tasks transferred for that target
                              (default: all; a VOC target's to the VOC tasks only)},
                     methods=[...pretrain.selection.METHODS], fractions=[0.06, 0.12],
                     image_sizes=[224, 112], seed=0, k=200, feature_backbone=None, feature_size=None,
                     selector="linear", selector_epochs=None, selector_lr=None, selector_batch_size=None)
                   `selector`: "target_trained" (Chakraborty et al.'s networks trained on the target and
                   source vs target, from `feature_backbone` or a random init, on a short schedule;
                   their training is counted in the selection's cost) or "linear" (one network's
                   features and logistic regressions); pretrain.selection.select_subset.
                   `feature_backbone`: None (a seeded random-init ResNet-18), an export, or "moco_v2" /
                   dict(name="moco_v2", epochs=..., ...): MoCo v2 trained on each target's images
                   first, once per target (pretrain/selection_moco.py), its cost in selection_cost
                   One selection cell per target × method × fraction (tools/select_subset.py), one
                   pretraining cell per selection × image size (the source config with
                   data.subset and data.image_size), labelled "<method>_<fraction>_<size>px_<target>",
                   transferred on every task on its own target only; the `arms` (e.g. i.i.d. on the
                   whole source, random init) are transferred on every target.
The plan is pure: cells (pipeline.cells) with their directories; pipeline.run executes them.

An experiment file is Python, run when it is loaded (also for --dry-run and --status): load only
files you trust. The names that become directories (the experiment's name, arms, variants,
tasks, selection targets and methods) must be made of [A-Za-z0-9_.-] without "..", and every
cell directory is checked to lie inside the runs root.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path

from mmengine.config import Config

from common.keys import unknown_keys_message
from common.provenance import REPO_ROOT
from common.vocab import IID, SCHEDULED_FAMILIES, SCHEDULES, TINY_SUFFIX, VOC_DATA_TASKS
from gather.tables import check_original_paper
from pipeline.cells import Cell, PretrainCell, SelectionCell, TransferCell

EXPERIMENT_KEYS = {"name", "arms", "variants", "pretrain_options", "pretrain_seeds", "tasks", "seeds",
                   "demo_data", "baseline", "budgets", "random_init_seeds", "slurm", "selection", "original_paper",
                   "filename"}
TASK_KEYS = {"cfg_options", "schedules", "arms", "seeds"}
SELECTION_KEYS = {"source", "targets", "methods", "fractions", "image_sizes", "seed", "k", "feature_backbone",
                  "feature_size", "selector", "selector_epochs", "selector_lr", "selector_batch_size"}
TARGET_KEYS = {"root", "generate", "demo_data", "task_options", "tasks"}
COCO_FAMILIES = ("detection", "instance_segmentation", "keypoints")
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # what a name that becomes a directory may hold


def check_name(name, what: str) -> None:
    """ValueError unless `name` is safe as one directory name: [A-Za-z0-9_.-], no "..", not "."."""
    if not isinstance(name, str) or not SAFE_NAME.fullmatch(name) or ".." in name or name == ".":
        raise ValueError(f"{what} {name!r} cannot name a directory: use letters, digits, '_', '.' and '-' only, "
                         "without '..' (it becomes part of the path of the experiment's runs)")


def check_experiment_names(cfg: Config) -> None:
    """Every name of `cfg` that becomes part of a cell's path, and the budgets, checked."""
    check_name(cfg.get("name") or Path(cfg.filename).stem, "experiment name")
    for arm in cfg["arms"]:
        check_name(arm, "arm")
    for variant in cfg.get("variants") or []:
        if variant.get("name"):
            check_name(variant["name"], "variant name")
    for task in cfg.get("tasks") or {}:
        check_name(task, "task")
    selection = cfg.get("selection") or {}
    for target in selection.get("targets") or {}:
        check_name(target, "selection target")
    for method in selection.get("methods") or []:
        check_name(method, "selection method")
    for budget in cfg.get("budgets") or []:
        if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0 < budget <= 1:
            raise ValueError(f"budgets: {budget!r} is not a fraction of the i.i.d. compute in (0, 1]")


def check_inside(root: str | Path, plan: Plan) -> None:
    """ValueError if any cell directory of `plan` resolves outside `root` (the runs root)."""
    root = Path(root).resolve()
    for cell in plan.cells:
        if not cell.work_dir.resolve().is_relative_to(root):
            raise ValueError(f"cell {cell.name}: its directory {cell.work_dir} lies outside the runs root {root}")


@dataclass
class Plan:
    name: str
    root: Path
    baseline: str
    pretrain: list[PretrainCell] = field(default_factory=list)
    transfer: list[TransferCell] = field(default_factory=list)
    demo_data: dict | None = None
    selection: list[SelectionCell] = field(default_factory=list)
    targets: dict = field(default_factory=dict)  # conditional pre-training: {name: dict(root=) or dict(generate=)}
    original_paper: dict = field(default_factory=dict)  # published numbers for T2-T4 (gather.tables)
    # cell hashes and resolved configs remembered by `memoized`, when set to a dict: for
    # read-only uses of a plan (--dry-run, --status) while no config file changes
    memo: dict | None = None

    @property
    def cells(self) -> list[Cell]:
        return [*self.selection, *self.pretrain, *self.transfer]

    def memoized(self, key: tuple, compute):
        """compute(), remembered in `memo` when the caller turned it on (a dry run or a status of a
        large plan reads every config once, not once per cell that uses it)."""
        if self.memo is None:
            return compute()
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def target_root(self, target: str) -> Path:
        """A target's data folder: as configured, the experiment's demo data of a kind (where
        pipeline.run.ensure_demo_data writes it), or generated under the run directory."""
        spec = self.targets[target]
        if spec.get("demo_data"):
            return self.root / "data" / spec["demo_data"]
        return Path(spec["root"]) if spec.get("root") else self.root / "data" / target


def load_experiment(path: str, overrides: dict | None = None) -> Config:
    """Read an experiment config; unknown keys are errors that name them."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"experiment config not found: {path}")
    cfg = Config.fromfile(path)
    if overrides:
        cfg.merge_from_dict(overrides)
    unknown = sorted(set(cfg) - EXPERIMENT_KEYS)
    if unknown:
        raise KeyError(f"{path}: {unknown_keys_message(unknown, EXPERIMENT_KEYS - {'filename'})}")
    if not cfg.get("arms"):
        raise KeyError(f"{path}: an experiment needs `arms`")
    for task, spec in (cfg.get("tasks") or {}).items():
        bad = sorted(set(spec or {}) - TASK_KEYS)
        if bad:
            raise KeyError(f"{path}: {unknown_keys_message(bad, TASK_KEYS, f'tasks.{task}')}")
    selection = cfg.get("selection")
    if selection:
        bad = sorted(set(selection) - SELECTION_KEYS)
        if bad:
            raise KeyError(f"{path}: {unknown_keys_message(bad, SELECTION_KEYS, 'selection')}")
        for key in ("source", "targets", "methods", "fractions"):
            if not selection.get(key):
                raise KeyError(f"{path}: selection needs `{key}`")
        for name, target in selection["targets"].items():
            if set(target or {}) - TARGET_KEYS or len(set(target or {}) & {"root", "generate", "demo_data"}) != 1:
                raise KeyError(f"{path}: selection.targets.{name} must be dict(root=...), dict(generate=...) or "
                               "dict(demo_data=KIND), with optional task_options={task: {cfg key: value}} and "
                               "tasks=[...]")
            kind = (target or {}).get("demo_data")
            if kind and kind not in (cfg.get("demo_data") or {}):
                raise KeyError(f"{path}: selection.targets.{name}.demo_data={kind!r} names no kind of the "
                               f"experiment's demo_data ({', '.join(cfg.get('demo_data') or {}) or 'none'})")
            unknown = sorted(set((target or {}).get("tasks") or ()) - set(cfg.get("tasks") or {}))
            if unknown:
                raise KeyError(f"{path}: selection.targets.{name}.tasks names {unknown}, which are not in the "
                               f"experiment's tasks ({', '.join(cfg.get('tasks') or {})})")
    check_experiment_names(cfg)
    if cfg.get("original_paper") is not None:
        try:
            check_original_paper(cfg["original_paper"])
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return cfg


def resolve_config_path(path: str) -> str:
    """A config path of an experiment file: absolute as given, relative to the checkout
    otherwise, whatever the working directory (a same-named file where the command runs is
    never picked instead); a clear error naming the path it looked at."""
    resolved = Path(path) if Path(path).is_absolute() else REPO_ROOT / path
    if not resolved.is_file():
        raise FileNotFoundError(f"pretraining config not found: {resolved} (an experiment's relative config "
                                f"paths are relative to the repository, {REPO_ROOT})")
    return str(resolved)


ARM_KEYS = {"config", "controls", "seed_offset"}


def _arm_specs(arms: dict) -> list[tuple[str, str | None, list[str], int]]:
    """(arm, config path or None, controls, seed offset) for every entry of an experiment's `arms`."""
    specs = []
    for arm, spec in arms.items():
        if spec is None or isinstance(spec, str):
            specs.append((arm, None if spec is None else resolve_config_path(spec), [], 0))
        elif isinstance(spec, dict) and set(spec) <= ARM_KEYS and spec.get("config"):
            offset = spec.get("seed_offset", 0)
            if not isinstance(offset, int) or isinstance(offset, bool):
                raise TypeError(f"arms.{arm}.seed_offset must be an int, got {offset!r}")
            specs.append((arm, resolve_config_path(spec["config"]), list(spec.get("controls") or []), offset))
        else:
            raise KeyError(f"arms.{arm} must be a config path, None, or dict(config=..., controls=[...], "
                           f"seed_offset=N); got {spec!r}")
    return specs


def seed_options(seed: int, offset: int) -> dict:
    """A pretraining cell's seed options: `seed` (+ the arm's offset) and, with an offset, the
    experiment's seed as `replicate`, which the export records so that gather pairs the run with
    seed `seed` of the other arms."""
    return {"seed": seed + offset, **({"replicate": seed} if offset else {})}


def arm_runs(arm: str, config: str, options: dict, controls: list[str], budgets: list[float]
             ) -> list[tuple[str, dict]]:
    """(cell label, options) of every pretraining run an arm asks for: the arm itself (once per
    budget if its method takes one and the experiment sweeps `budgets`), then its equal-cost
    controls, each configured from the arm (e.g. budget=<the arm's planned cost>)."""
    from pretrain.config import load_config, resolve_config
    from pretrain.methods import build_method, get_method

    arm_cfg = load_config(config, options)  # once: the budget check and every control read it
    method = build_method(arm_cfg["arm"], None, int(arm_cfg["train"]["epochs"]), int(resolve_config(arm_cfg)["seed"]))
    if budgets and "budget" in method.defaults:
        runs = [(f"{arm}_b{b:g}", {**options, "arm.budget": b, "label": arm}) for b in budgets]
    else:
        runs = [(arm, {**options, "label": arm})]  # the experiment's name for it, in every table
    for control in controls:
        try:
            control_cfg = get_method(control).control_for(dict(arm_cfg["arm"]), method)
        except ValueError as exc:
            raise ValueError(f"arms.{arm}.controls: {exc}") from None
        runs.append((f"{arm}-{control}", {**options, "arm": {"_delete_": True, **control_cfg},
                                          "label": f"{arm}-{control}", "control_of": arm}))
    return runs


def make_plan(cfg: Config, runs_root: str | Path = "runs") -> Plan:
    """Every cell of an experiment, in execution order (pretraining first)."""
    from transfer.tasks import get_task

    check_experiment_names(cfg)  # names become directories: none may leave the runs root
    name = cfg.get("name") or Path(cfg.filename).stem
    root = Path(runs_root) / name
    plan = Plan(name=name, root=root, baseline=cfg.get("baseline", IID), demo_data=cfg.get("demo_data"),
                original_paper=dict(cfg.get("original_paper") or {}))
    variants = cfg.get("variants") or [dict(name="", options={})]
    pretrain_seeds = list(cfg.get("pretrain_seeds", [0]))
    common = dict(cfg.get("pretrain_options") or {})
    budgets = [float(b) for b in cfg.get("budgets") or []]
    arms = []  # (cell label, pretrains?, experiment arm) in table order: each arm (per budget), then its controls
    for arm, config, controls, offset in _arm_specs(cfg["arms"]):
        if config is None:
            arms.append((arm, False, arm))
            continue
        for v, variant in enumerate(variants):
            runs = arm_runs(arm, config, {**common, **dict(variant.get("options") or {})}, controls, budgets)
            if v == 0:
                arms += [(label, True, arm) for label, _ in runs]
            for label, run_options in runs:
                for seed in pretrain_seeds:
                    cell_dir = (root / "pretrain" / (f"{variant['name']}_{label}" if variant["name"] else label)
                                / f"seed{seed}")
                    plan.pretrain.append(PretrainCell(label, variant["name"], seed, config,
                                                      {**run_options, **seed_options(seed, offset)}, cell_dir))
    selected = _selection_cells(cfg.get("selection"), plan, common, pretrain_seeds)
    seeds = list(cfg.get("seeds", [0]))
    scratch_seeds = list(cfg.get("random_init_seeds", seeds))
    targets = list(plan.targets) or [None]  # conditional pre-training: every arm on every target
    for task, spec in (cfg.get("tasks") or {}).items():
        family = get_task(task).family  # an unknown task fails here, naming it
        data_kind = None
        if plan.demo_data:
            data_kind = ("voc" if task.removesuffix(TINY_SUFFIX) in VOC_DATA_TASKS
                         else "coco" if family in COCO_FAMILIES else "cityscapes")
        schedules, task_arms = _task_schedules(task, family, spec), _task_arms(task, spec, arms)
        cfg_options = dict((spec or {}).get("cfg_options") or {})
        task_seeds = list((spec or {}).get("seeds") or seeds)
        for target in targets:
            only = (plan.targets.get(target) or {}).get("tasks")
            if only and task not in only:
                continue  # e.g. a VOC target's subsets go to the VOC tasks, not to a class-folder task
            target_arms = task_arms + [(label, True, label) for label in selected.get(target, [])]
            for (arm, pretrained, _), schedule in itertools.product(target_arms, schedules):
                # the pretraining run is the unit: every backbone of the arm × every fine-tuning seed
                backbones = [c for c in plan.pretrain if c.arm == arm and c.variant == variants[0]["name"]] \
                    if pretrained else [None]
                target_options = ((plan.targets.get(target) or {}).get("task_options") or {}).get(task, {})
                for source, seed in itertools.product(backbones, task_seeds if pretrained else scratch_seeds):
                    cell = TransferCell(task, arm, seed, {**cfg_options, **target_options}, source, Path(), data_kind,
                                        schedule, target, several_backbones=len(backbones) > 1)
                    cell.work_dir = root / cell.name
                    plan.transfer.append(cell)
    check_inside(runs_root, plan)
    return plan


def _task_schedules(task: str, family: str, spec) -> list[str | None]:
    """The schedules a task runs at: its `schedules`, checked, or [None] (the config's own)."""
    schedules = list((spec or {}).get("schedules") or [])
    if not schedules:
        return [None]
    unknown = [s for s in schedules if s not in SCHEDULES]
    if unknown:
        raise ValueError(f"tasks.{task}.schedules: unknown {unknown}; one of {list(SCHEDULES)}")
    if family not in SCHEDULED_FAMILIES:
        raise ValueError(f"tasks.{task}.schedules: a {family} task has no detection schedule")
    return schedules


def _task_arms(task: str, spec, arms: list[tuple[str, bool, str]]) -> list[tuple[str, bool, str]]:
    """The arms a task runs: all, or those its `arms` names (an experiment arm brings its
    budgets and controls along; a cell label such as "dar-budget" names just that one)."""
    wanted = (spec or {}).get("arms")
    if wanted is None:
        return arms
    known = {label for label, _, _ in arms} | {base for _, _, base in arms}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise KeyError(f"tasks.{task}.arms: unknown arm(s) {unknown}; the experiment's arms: {sorted(known)}")
    return [a for a in arms if a[0] in wanted or a[2] in wanted]


def _selection_cells(selection: dict | None, plan: Plan, options: dict, pretrain_seeds: list[int]
                     ) -> dict[str, list[str]]:
    """Add conditional pre-training's selection and pretraining cells to `plan`; return
    {target: [labels of the arms pretrained on its subsets]}."""
    if not selection:
        return {}
    source = resolve_config_path(selection["source"])
    settings = {"k": int(selection.get("k", 200)), "feature_backbone": selection.get("feature_backbone"),
                "feature_size": selection.get("feature_size"), "selector": selection.get("selector", "linear"),
                **{key: selection[key] for key in ("selector_epochs", "selector_lr", "selector_batch_size")
                   if selection.get(key) is not None}}
    sizes = list(selection.get("image_sizes") or [None])
    labels: dict[str, list[str]] = {}
    for target, spec in selection["targets"].items():
        spec = dict(spec)
        if spec.get("demo_data"):  # the experiment's generated data of that kind: its args identify it
            spec["demo_data_args"] = dict(plan.demo_data[spec["demo_data"]])
        plan.targets[target] = spec
        for fraction in selection["fractions"]:
            for method in selection["methods"]:
                cell = SelectionCell(target, method, float(fraction), int(selection.get("seed", 0)), source, settings,
                                     dict(spec), plan.root / "selection" / target / f"{method}_{float(fraction):g}")
                plan.selection.append(cell)
                for size in sizes:
                    label = f"{method}_{float(fraction):g}" + (f"_{size}px" if size else "") + f"_{target}"
                    labels.setdefault(target, []).append(label)
                    run_options = {**options, "data.subset": str(cell.subset_file), "label": label}
                    if size:
                        run_options["data.image_size"] = int(size)
                    for seed in pretrain_seeds:
                        plan.pretrain.append(PretrainCell(label, "", seed, source,
                                                          {**run_options, **seed_options(seed, 0)},
                                                          plan.root / "pretrain" / label / f"seed{seed}", cell))
    return labels
