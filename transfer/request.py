"""One transfer run as asked for, and the preparation every task shares.

`TransferRequest` is built once, from the command line (tools/transfer.py) or from a pipeline
cell (pipeline/run.py), and is all that `transfer.run.run_transfer` takes. Both ways of running
a task read it through the functions below, so that a flag means the same on every task:
  - the toolbox tasks (transfer.build.build_run, transfer.run: an mmengine Runner) and
  - the fine-grained tasks (transfer.classification: a plain torchvision loop).
What they share: which flags a task takes (`check_flags_apply`; a flag that cannot apply is an
error, never ignored), the backbone (`load_task_backbone`: random init or a checked export,
`backbone_contract`: its keys against the model's), the default work dir and its claim
(`work_dir_for`, `claim`: common.workdir), the data root, the overrides (checked by each path's
config loader before they are merged) and the dump of the effective config (`dump_config`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from mmengine.config import Config

from common.backbone import load_backbone
from common.files import atomic_path
from common.vocab import BN, RANDOM_INIT, SCHEDULED_FAMILIES, SCHEDULES
from common.workdir import claim_work_dir
from transfer.contract import check_arch, check_backbone_state
from transfer.tasks import Task

LAUNCHERS = ("none", "pytorch", "slurm")
TORCHVISION_SCOPE = "torchvision"  # the fine-grained tasks' `scope`: a plain loop, no mmengine Runner


@dataclass(frozen=True)
class TransferRequest:
    """What one transfer run is asked to do: task, backbone, seed, where, and every option of
    tools/transfer.py under the name of its flag. `cfg_options` is never edited (merged copies)."""

    task: str
    backbone: str | os.PathLike  # a stage-1 export dir, a backbone .pth, or "none" (random init)
    seed: int = 0
    work_dir: str | os.PathLike | None = None  # default: work_dirs/transfer/<task>/<arm>_seed<seed>
    arch: str | None = None  # the arch of a plain checkpoint without backbone.json
    cfg_options: dict | None = None  # --cfg-options overrides, dotted keys
    data_root: str | os.PathLike | None = None
    schedule: str | None = None  # detection: "1x" (the config's own), "2x", "3x", "6x"
    launcher: str = "none"
    resume: bool = False  # continue the run in work_dir (same config only)
    overwrite: bool = False  # clear work_dir first if it holds a run
    auto_scale_lr: bool = False
    allow_unexpected_keys: bool = False
    amp: bool = False
    dry_run: bool = False  # config, model and backbone contract; no data read, nothing written
    dump_config: str | os.PathLike | None = None  # write the effective config as one file

    def __post_init__(self):
        if self.launcher not in LAUNCHERS:
            raise ValueError(f"launcher must be one of {LAUNCHERS}, got {self.launcher!r}")
        if self.resume and self.overwrite:
            raise ValueError("--resume and --overwrite exclude each other")
        if self.schedule is not None and self.schedule not in SCHEDULES:
            raise ValueError(f"--schedule must be one of {list(SCHEDULES)}, got {self.schedule!r}")

    @classmethod
    def from_args(cls, args) -> TransferRequest:
        """The request of tools/transfer.py's parsed arguments (each field is the flag's name)."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls)})

    @property
    def is_random_init(self) -> bool:
        """The random-init arm (`--backbone none`)."""
        return self.backbone is None or str(self.backbone).lower() == "none"

    def work_dir_for(self, arm: str) -> Path:
        """The run's work dir: as given, else work_dirs/transfer/<task>/<arm>_seed<seed>."""
        return Path(self.work_dir or Path("work_dirs") / "transfer" / self.task / f"{arm}_seed{self.seed}")


def check_flags_apply(request: TransferRequest, task: Task) -> None:
    """Refuse a flag the task cannot honour, naming it: never a silently dropped option."""
    check_schedule_applies(request.schedule, task)
    if task.scope == TORCHVISION_SCOPE:
        if request.launcher != "none":
            raise ValueError(f"task {task.name} runs in one process (launcher 'none'); got --launcher "
                             f"{request.launcher}")
        if request.amp:
            raise ValueError(f"--amp: task {task.name!r} is a plain torchvision loop in float32 (no AMP wrapper); "
                             "run it without --amp")


def check_schedule_applies(schedule: str | None, task: Task) -> None:
    """--schedule scales a detection task's 1x; any other task refuses it."""
    if schedule is not None and task.family not in SCHEDULED_FAMILIES:
        raise ValueError(f"--schedule {schedule}: task {task.name!r} ({task.family}) has no detection "
                         f"schedule; {', '.join(SCHEDULES)} apply to the {' and '.join(SCHEDULED_FAMILIES)} tasks")


def check_auto_scale_lr(request: TransferRequest, cfg: Config, config_file) -> bool:
    """Whether to scale the lr to the run's batch: --auto-scale-lr needs the batch the recipe's lr
    is set for (`auto_scale_lr.base_batch_size` of the task config), on every task."""
    if request.auto_scale_lr and "base_batch_size" not in (cfg.get("auto_scale_lr") or {}):
        raise ValueError(f"--auto-scale-lr: {config_file} states no auto_scale_lr.base_batch_size "
                         "(the batch its lr is set for)")
    return request.auto_scale_lr


@dataclass
class TaskBackbone:
    """The backbone a run starts from: its state dict (None for random init), its stage-1
    metadata (or the random-init stand-in) and its label in results.json."""

    checkpoint: dict | None
    pretrain: dict
    label: str  # the checkpoint path as given, or "none"

    @property
    def arm(self) -> str:
        return self.pretrain["arm"]


def random_init_meta(arch: str, norm: str = BN) -> dict:
    """Stand-in stage-1 metadata for the random-init arm: nothing pretrained, cost 0; `norm` is
    the one the task builds."""
    return {"arch": arch, "norm": norm, "arm": RANDOM_INIT, "arm_params": {}, "dataset": None,
            "num_classes": None, "epochs": 0, "seed": None, "cost": 0.0, "forwards": 0,
            "iid_forwards": None, "wall_clock_s": 0.0, "top1": None, "top5": None,
            "config_hash": None, "versions": None, "normalization": None, "path": None}


def load_task_backbone(request: TransferRequest, config_arch: str, norm: str = BN) -> TaskBackbone:
    """The request's backbone for a task that builds `config_arch` (with `norm`): the random-init
    stand-in, or the checkpoint loaded (common.backbone) with its arch checked against the task's."""
    if request.is_random_init:
        if request.arch is not None and request.arch != config_arch:
            raise ValueError(f"--arch {request.arch} but task {request.task!r} builds a {config_arch}")
        return TaskBackbone(None, random_init_meta(config_arch, norm), "none")
    checkpoint, pretrain = load_backbone(request.backbone, request.arch)
    check_arch(pretrain["arch"], config_arch, request.task)
    return TaskBackbone(checkpoint, pretrain, str(request.backbone))


def backbone_contract(request: TransferRequest, backbone_state: dict, checkpoint: dict, source: str) -> dict:
    """Keys and shapes of `checkpoint` against the state dict of the backbone the task builds
    (transfer.contract); --allow-unexpected-keys lets another architecture's extra tensors pass."""
    return check_backbone_state(backbone_state, checkpoint, source=source,
                                allow_unexpected_keys=request.allow_unexpected_keys)


def claim(request: TransferRequest, work_dir: Path, record: dict, write: bool = True) -> None:
    """common.workdir.claim_work_dir with the request's --resume/--overwrite: a work dir holding a
    run is refused without them. Every path claims twice: write=False before reading the data,
    then write=True (record the config, or clear the dir for --overwrite) once the data is fine."""
    claim_work_dir(work_dir, record, resume=request.resume, overwrite=request.overwrite, write=write)


def dump_config(request: TransferRequest, cfg: Config, header: str) -> None:
    """--dump-config: the effective config as one file, under a comment line `header`."""
    if request.dump_config is not None:
        with atomic_path(request.dump_config) as tmp:
            tmp.write_text(f"# {header}\n" + cfg.pretty_text)
