"""The cells of a plan behind one interface: a subset selection, a pretraining run, a transfer run.

A cell is one unit of an experiment's work with its own directory. Whatever its kind, the
executors (pipeline.run in this process, pipeline.parallel's workers, pipeline.cluster's
submitit jobs) and tools/pipeline.py ask it the same questions (`Cell`): its name and stage, the
cells whose artifacts it reads (`depends_on`), its artifact, its hash, how to run it, how to
describe it in a dry run, what it recorded of its time. None of them looks at a cell's kind:
what differs between kinds lives in the classes below.

The stage code (pretrain/, transfer/) is imported inside the methods: building a plan, or
reading one for --status, imports no toolbox.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from common.provenance import config_hash
from common.vocab import BACKBONE_META, RESULTS_FILE, SCHEDULED_FAMILIES

if TYPE_CHECKING:
    from pipeline.experiment import Plan


class Cell(ABC):
    """What every cell answers; the dataclasses below hold the fields (each has a `work_dir`)."""

    stage: ClassVar[str]  # "selection", "pretrain" or "transfer": the plan's list and its name's first part
    noun: ClassVar[str]  # how messages name it: "its pretraining cell pretrain/iid/seed0 ..."
    artifact_noun: ClassVar[str]  # how messages name its artifact: "... has no export"
    job_stage: ClassVar[str]  # whose job resources (the experiment's `slurm.<stage>`) its job takes
    records_timing: ClassVar[bool] = True  # its artifact holds a `timing` (common.timing)
    work_dir: Path

    @property
    @abstractmethod
    def name(self) -> str:
        """Unique in its plan; its directory under the experiment's run directory."""

    @property
    def depends_on(self) -> list[Cell]:
        """The cells whose artifacts this one reads: they must be done before it runs."""
        return []

    @property
    @abstractmethod
    def artifact(self) -> Path:
        """The file whose presence (with a done status of the current hash) means the cell is done."""

    def hash(self, plan: Plan) -> str:
        """What decides the cell's artifact, as a short hash (remembered in plan.memo when set)."""
        return plan.memoized((self.stage, self.name), lambda: self.compute_hash(plan))

    @abstractmethod
    def compute_hash(self, plan: Plan) -> str:
        """`hash`, computed: read the configs it depends on."""

    @abstractmethod
    def run(self, plan: Plan, data_roots: dict, launcher: str = "none") -> str:
        """Make the artifact (resuming from the last checkpoint); a one-line summary of the result.
        Its inputs are done (pipeline.run.run_work checks them)."""

    @abstractmethod
    def describe(self, plan: Plan) -> str:
        """Where it comes from, for its --dry-run line ("  <- pretrain/iid/seed0, ...")."""

    def timing(self) -> dict | None:
        """The `timing` its artifact recorded; None when there is none (not run yet, a cell that
        records none, or written before timings were recorded)."""
        if not self.records_timing:
            return None
        try:
            return json.loads(self.artifact.read_text()).get("timing") or None
        except (FileNotFoundError, json.JSONDecodeError):
            return None


@dataclass
class SelectionCell(Cell):
    """One subset selection (conditional pre-training): target × method × fraction."""

    target: str
    method: str
    fraction: float
    seed: int
    config: str  # the source's pretraining config
    settings: dict  # k, feature_backbone, feature_size, selector (and its training options)
    target_spec: dict  # dict(root=...) or dict(generate=...)
    work_dir: Path

    stage: ClassVar[str] = "selection"
    noun: ClassVar[str] = "selection"
    artifact_noun: ClassVar[str] = "subset file"
    job_stage: ClassVar[str] = "transfer"  # a forward pass over the source and the target, no training
    records_timing: ClassVar[bool] = False

    @property
    def name(self) -> str:
        return f"selection/{self.target}/{self.method}_{self.fraction:g}"

    @property
    def subset_file(self) -> Path:
        return self.work_dir / "subset.json"

    @property
    def artifact(self) -> Path:
        return self.subset_file

    def compute_hash(self, plan: Plan) -> str:
        """The source's resolved config, the target, method, fraction, seed and the selection settings."""
        from pretrain.config import load_config
        from pretrain.trainer import plain_config

        return config_hash({"source": plain_config(load_config(self.config)), "target": self.target_spec,
                            "method": self.method, "fraction": self.fraction, "seed": self.seed, **self.settings})

    def run(self, plan: Plan, data_roots: dict, launcher: str = "none") -> str:
        from pretrain.config import load_config
        from pretrain.selection import select_subset
        from pretrain.subset import write_subset

        record = select_subset(load_config(self.config), self.config, str(plan.target_root(self.target)),
                               self.method, self.fraction, seed=self.seed,
                               cache_dir=str(plan.root / "selection" / "features"), **self.settings)
        write_subset(self.subset_file, record)
        return (f"kept {record['size']} of {record['source']['size']}, {record['cost']['forwards']} forwards, "
                f"{record['cost']['backwards']} backwards, {record['cost']['wall_clock_s']:.0f} s")

    def describe(self, plan: Plan) -> str:
        return f"  {self.config} -> {plan.target_root(self.target)} {self.settings}"


@dataclass
class PretrainCell(Cell):
    """One pretraining run: an arm (× variant) × seed."""

    arm: str
    variant: str
    seed: int  # the experiment's pretraining seed (the pairing key across arms)
    config: str
    options: dict  # its "seed" is `seed` + the arm's seed_offset
    work_dir: Path
    selection: SelectionCell | None = None  # the subset it trains on (data.subset)

    stage: ClassVar[str] = "pretrain"
    noun: ClassVar[str] = "pretraining"
    artifact_noun: ClassVar[str] = "export"
    job_stage: ClassVar[str] = "pretrain"

    @property
    def name(self) -> str:
        return f"pretrain/{self.variant + '_' if self.variant else ''}{self.arm}/seed{self.seed}"

    @property
    def export_dir(self) -> Path:
        return self.work_dir / "export"

    @property
    def depends_on(self) -> list[Cell]:
        return [self.selection] if self.selection is not None else []

    @property
    def artifact(self) -> Path:
        return self.export_dir / BACKBONE_META

    def compute_hash(self, plan: Plan) -> str:
        """The config hash stage 1 writes into its export (pretrain.trainer.plain_config); for a run
        on a selected subset also the selection's hash (the subset file's path alone says nothing)."""
        from pretrain.config import load_config
        from pretrain.trainer import plain_config

        plain = config_hash(plain_config(load_config(self.config, self.options)))
        return plain if self.selection is None else config_hash([plain, self.selection.hash(plan)])

    def run(self, plan: Plan, data_roots: dict, launcher: str = "none") -> str:
        from pretrain.config import load_config
        from pretrain.trainer import train

        meta = train(load_config(self.config, self.options), str(self.work_dir), launcher=launcher, resume=True)
        return f"top-1 {meta['top1']:.1f}%, cost {100 * meta['cost']:.1f}%" if meta["top1"] is not None else ""

    def describe(self, plan: Plan) -> str:
        return f"  {self.config} {self.options or ''}"

    def timing(self) -> dict | None:
        timing = super().timing()
        if timing is None:
            return None
        # the run ends when it writes its export, not when the trainer returns (total_s): its
        # time is the sum of its phases
        return {key: value for key, value in timing.items() if key != "total_s"}


@dataclass
class TransferCell(Cell):
    """One transfer run: task × arm × seed, from a pretraining cell (None = random init)."""

    task: str
    arm: str
    seed: int
    cfg_options: dict
    source: PretrainCell | None
    work_dir: Path
    data_kind: str | None = None  # "coco" / "cityscapes" when the demo data is used
    schedule: str | None = None  # "3x" etc. (transfer.schedule); None: the task config's own
    target: str | None = None  # conditional pre-training: the target (its data root: Plan.target_roots)
    several_backbones: bool = False  # the arm has several pretraining seeds: the name says which

    stage: ClassVar[str] = "transfer"
    noun: ClassVar[str] = "transfer"
    artifact_noun: ClassVar[str] = "results"
    job_stage: ClassVar[str] = "transfer"

    @property
    def pretrain_seed(self) -> int | None:
        """The experiment's pretraining seed of the backbone (None: random init)."""
        return self.source.seed if self.source else None

    @property
    def name(self) -> str:
        where = f"{self.target}/" if self.target else ""
        schedule = f"{self.schedule}/" if self.schedule else ""
        backbone = f"pretrain{self.pretrain_seed}/" if self.several_backbones and self.source else ""
        return f"transfer/{self.task}/{where}{schedule}{self.arm}/{backbone}seed{self.seed}"

    @property
    def depends_on(self) -> list[Cell]:
        return [self.source] if self.source is not None else []

    @property
    def reads_target(self) -> bool:
        """Whether the task trains on the target's images (the class-folder tasks of conditional
        pre-training); any other task (VOC, COCO, Cityscapes) reads its own data, and the target
        only chose the subset its backbone was pretrained on."""
        from transfer.classification import SCOPE
        from transfer.tasks import get_task

        return self.target is not None and get_task(self.task).scope == SCOPE

    @property
    def artifact(self) -> Path:
        return self.work_dir / RESULTS_FILE

    def _options_key(self) -> tuple:
        """What decides its resolved task config, as a key of plan.memo."""
        return self.task, json.dumps(self.cfg_options, sort_keys=True, default=str), self.schedule

    def _recipe_hash(self) -> str:
        from transfer.build import recipe_hash, resolve_task_config
        from transfer.classification import SCOPE, classification_recipe_hash

        task, cfg = resolve_task_config(self.task, self.cfg_options or None, schedule=self.schedule)
        return classification_recipe_hash(cfg) if task.scope == SCOPE else recipe_hash(cfg)

    def compute_hash(self, plan: Plan) -> str:
        """The resolved task config (every `_base_` level, the overrides and the schedule), seed,
        generated data, backbone."""
        recipe = plan.memoized(("recipe", *self._options_key()), self._recipe_hash)
        return config_hash({
            "task": self.task, "recipe": recipe, "seed": self.seed,
            "data": plan.demo_data.get(self.data_kind) if self.data_kind else None,
            "backbone": self.source.hash(plan) if self.source else "none",
            **({"target": plan.targets[self.target]} if self.target else {}),
        })

    def run(self, plan: Plan, data_roots: dict, launcher: str = "none") -> str:
        from gather.headline import format_headline
        from transfer.request import TransferRequest
        from transfer.run import run_transfer

        backbone = str(self.source.export_dir) if self.source else "none"
        data_root = plan.target_root(self.target) if self.reads_target else data_roots.get(self.data_kind)
        results = run_transfer(TransferRequest(self.task, backbone, seed=self.seed, work_dir=str(self.work_dir),
                                               cfg_options=self.cfg_options or None, data_root=data_root,
                                               resume=True, schedule=self.schedule, launcher=launcher))
        return format_headline(self.task, results["metrics"])

    def schedule_text(self, plan: Plan | None = None) -> str:
        """"3x: 270000 iterations, lr x0.1 at 210000, 250000 (1x: ...)" for a detection task (its
        scaled schedule, as the run will train it); "" for any other task."""
        from transfer.build import resolve_task_config
        from transfer.schedule import recorded_schedule
        from transfer.tasks import get_task

        if get_task(self.task).family not in SCHEDULED_FAMILIES:
            return ""

        def describe() -> str:
            _, cfg = resolve_task_config(self.task, self.cfg_options or None, schedule=self.schedule)
            return recorded_schedule(cfg).describe()

        return describe() if plan is None else plan.memoized(("schedule", *self._options_key()), describe)

    def describe(self, plan: Plan) -> str:
        origin = f"  <- {self.source.name if self.source else 'random init'}"
        origin += f", data: {self.data_kind} (generated)" if self.data_kind else ""
        origin += f", schedule {schedule}" if (schedule := self.schedule_text(plan)) else ""
        if self.target:
            origin += (f", target: {plan.target_root(self.target)}" if self.reads_target
                       else f", subsets selected for target {self.target}")
        return origin
