"""Task config + backbone checkpoint + overrides -> the mmengine Config of one run.

`build_run` is the whole wiring, in order:
  1. load the task's config file (configs/transfer/, see transfer.tasks) and merge the
     `--cfg-options` overrides, then `--data-root`, then scale a detection task's 1x to
     `--schedule` (transfer.schedule);
  2. read the arch the config builds from `model.backbone` (a toolbox `ResNet`);
  3. the backbone: a stage-1 export (or a plain torchvision checkpoint) is loaded with
     `common.backbone.load_backbone`, its arch compared with the config's, and its keys and
     shapes checked against the backbone the config builds (transfer.contract), and its norm
     (BN or GroupNorm) against the config's `norm_cfg`; the backbone's `init_cfg` then points at
     that local file (for GroupNorm, a copy in the work dir with the toolbox's `gn<k>` key
     names). `none` is the random-init arm: `init_cfg=None`, the toolbox's default initialisation.
     A C4 detector's res5 (mmdet's `ResLayer` shared head, tensors `layer4.*`) gets the same
     check and its own Pretrained init from the export (`load_shared_head_from`);
  4. nothing may be fetched: any `torchvision://`, `open-mmlab://` or http(s) checkpoint left in
     the config, and `load_from`/`resume`, are errors;
  5. the machine: SyncBN becomes BN unless several processes run on GPUs; distributed CPU runs
     use the gloo backend;
  6. seed, work dir, launcher and a unique experiment name (mmengine keys its logger,
     visualizer and message hub by it, so consecutive runs in one process stay apart).
The pixel mean/std, BN protocol and schedule come from the task config only, never from the
arm, so all arms of a comparison share them; `protocol_of` records them for results.json.
"""

from __future__ import annotations

import copy
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import torch
from mmengine.config import Config, ConfigDict

from common.amp import CPU_AMP_WRAPPER, amp_wrapper_config
from common.files import atomic_path
from common.provenance import config_hash, to_plain
from common.vocab import BN, SCHEDULED_FAMILIES
from transfer.contract import (
    arch_of_backbone_cfg,
    check_backbone_state,
    check_norm,
    norm_of_backbone_cfg,
    toolbox_layout,
)
from transfer.data import set_data_root
from transfer.overrides import check_overrides
from transfer.request import (
    TaskBackbone,
    TransferRequest,
    backbone_contract,
    check_auto_scale_lr,
    check_flags_apply,
    check_schedule_applies,
    load_task_backbone,
)
from transfer.schedule import apply_schedule, recorded_schedule
from transfer.tasks import Task, get_task

# Checkpoint schemes mmengine would download at init_weights time; this suite runs offline.
REMOTE_PREFIXES = ("torchvision://", "open-mmlab://", "mmcls://", "mmpretrain://", "http://",
                   "https://", "modelzoo://")
# Keys that say where and as which process a run happens, not what it computes: left out of
# config_hash so that every arm and seed of one recipe shares the hash.
RUN_SPECIFIC_KEYS = ("work_dir", "experiment_name", "launcher", "randomness")
# A GroupNorm export renamed to the toolbox's key layout, beside the run's logs
TOOLBOX_BACKBONE_FILE = "backbone_toolbox_layout.pth"


@dataclass
class RunSpec:
    """Everything one run needs, decided before the Runner exists."""

    task: Task
    cfg: Config
    arm: str
    seed: int
    backbone: str  # the checkpoint path as given, or "none"
    pretrain: dict  # stage-1 metadata (common.backbone), or the random-init stand-in
    checkpoint: dict | None  # the backbone state dict, None for random init
    contract: dict = field(default_factory=dict)  # {"loaded": [...], "unexpected": [...]}

    @property
    def work_dir(self) -> Path:
        return Path(self.cfg.work_dir)


def build_in_scope(module_cfg: dict, scope: str) -> torch.nn.Module:
    """Build a model (or a backbone) from its config with the toolbox registry of `scope`."""
    from mmengine.registry import MODELS, init_default_scope

    # The three toolboxes register same-named classes (ResNet) in separate registries; the
    # default scope picks the one this config was written for.
    init_default_scope(scope)
    return MODELS.build(copy.deepcopy(module_cfg))


def resolve_task_config(task: str, cfg_options: dict | None = None,
                        data_root: str | os.PathLike | None = None, schedule: str | None = None
                        ) -> tuple[Task, Config]:
    """The task's config with every `_base_` level and override merged, its 1x scaled to
    `schedule` (detection tasks only): (task, Config)."""
    spec_task = get_task(task)
    if spec_task.scope == "mmdet":
        # the tiny detection configs name `MatmulRoIAlign`, which mmdet looks up in mmcv.ops
        from transfer.roi_align import register

        register()
    cfg = Config.fromfile(str(spec_task.config))
    if cfg.get("default_scope") != spec_task.scope:
        raise ValueError(f"{spec_task.config} has default_scope {cfg.get('default_scope')!r}, "
                         f"expected {spec_task.scope!r}")
    if cfg_options:
        # a misspelt key or a section that does not exist is an error naming the closest key
        check_overrides(cfg.to_dict(), cfg_options, spec_task.scope, source=f"--cfg-options of task {task!r}")
        # a copy: the merged dicts would otherwise be the caller's, and scaling a schedule
        # below would edit the overrides of every later resolution in place
        cfg.merge_from_dict(copy.deepcopy(cfg_options))
    if data_root is not None:
        set_data_root(cfg, data_root)
    if schedule is not None:
        check_schedule_applies(schedule, spec_task)
        try:
            apply_schedule(cfg, schedule)
        except ValueError as exc:
            raise ValueError(f"--schedule {schedule} for task {task!r} ({spec_task.config}): {exc}") from None
    return spec_task, cfg


# What stops bfloat16 autocast on the CPU, per task family (seen with torch 2.4.1, mmcv 2.1.0,
# mmpose 1.3.2); on a GPU all four train in float16.
CPU_AMP_UNSUPPORTED = {
    "detection": "mmcv's CPU kernels of nms and RoIAlign take float32 only "
                 "('expected scalar type Float but found BFloat16')",
    "instance_segmentation": "mmcv's CPU kernels of nms and RoIAlign take float32 only "
                             "('expected scalar type Float but found BFloat16')",
    "keypoints": "mmpose's heatmap accuracy converts bfloat16 heatmaps to NumPy, which has no bfloat16",
}


def build_run(request: TransferRequest, layout_dir: str | os.PathLike | None = None) -> RunSpec:
    """Build the Config of one run and check the backbone contract (no data touched).

    `request.auto_scale_lr`: scale the lr linearly by (processes × per-process batch) / the
    recipe's batch (`auto_scale_lr.base_batch_size` of the task config; mmengine's mechanism).
    `request.schedule`: "1x" | "2x" | "3x" | "6x" for a detection task (transfer.schedule).
    `request.amp`: mixed precision as the toolboxes' `tools/train.py --amp` sets it
    (AmpOptimWrapper, dynamic loss scale; on the CPU its bfloat16 twin, common.amp).
    `layout_dir`: where a GroupNorm export renamed to the toolbox's keys is written (default:
    the work dir)."""
    spec_task, cfg = resolve_task_config(request.task, request.cfg_options, request.data_root, request.schedule)
    check_flags_apply(request, spec_task)
    backbone_cfg = cfg.model.backbone
    backbone_cfg.pop("pretrained", None)  # mmseg's deprecated alias of init_cfg
    cfg.model.pop("pretrained", None)
    backbone = load_task_backbone(request, arch_of_backbone_cfg(backbone_cfg), norm_of_backbone_cfg(backbone_cfg)[0])
    contract = {}
    if backbone.checkpoint is None:
        backbone_cfg.init_cfg = None  # the toolbox's own default init of a fresh ResNet
        if shared_head_cfg(cfg) is not None:
            shared_head_cfg(cfg).init_cfg = None  # and of a C4 detector's res5
    else:
        contract = _point_at_backbone(request, cfg, spec_task, backbone, layout_dir)

    assert_offline(cfg)
    _fit_to_machine(cfg, distributed=request.launcher != "none")
    if check_auto_scale_lr(request, cfg, spec_task.config):
        cfg.auto_scale_lr.enable = True
    if request.amp:
        _switch_to_amp(cfg, spec_task)
    cfg.randomness = dict(seed=int(request.seed), deterministic=False)
    cfg.launcher = request.launcher
    cfg.work_dir = str(request.work_dir_for(backbone.arm))
    cfg.experiment_name = f"{request.task}_{backbone.arm}_seed{request.seed}_{uuid.uuid4().hex[:8]}"
    return RunSpec(task=spec_task, cfg=cfg, arm=backbone.arm, seed=int(request.seed), backbone=backbone.label,
                   pretrain=backbone.pretrain, checkpoint=backbone.checkpoint, contract=contract)


def _point_at_backbone(request: TransferRequest, cfg: Config, task: Task, backbone: TaskBackbone,
                       layout_dir: str | os.PathLike | None) -> dict:
    """Check the export against the backbone the config builds (norm, keys, shapes) and point the
    backbone's init_cfg (and a C4 detector's res5) at a local file in the toolbox's layout;
    return the contract {"loaded": [...], "unexpected": [...]}."""
    backbone_cfg, pretrain = cfg.model.backbone, backbone.pretrain
    norm = check_norm(pretrain, backbone_cfg, task.name)
    backbone.checkpoint = toolbox_layout(backbone.checkpoint, norm)
    backbone_cfg.init_cfg = None  # built bare: only its state-dict layout is needed here
    model_backbone = build_in_scope(backbone_cfg, task.scope)
    contract = backbone_contract(request, model_backbone.state_dict(), backbone.checkpoint, pretrain["path"])
    del model_backbone
    init_file = pretrain["path"]
    if norm != BN:  # PretrainedInit cannot rename keys: give it a file in the toolbox's layout
        init_file = Path(layout_dir or request.work_dir_for(backbone.arm)) / TOOLBOX_BACKBONE_FILE
        with atomic_path(init_file) as tmp:
            torch.save(backbone.checkpoint, tmp)
    # mmengine's PretrainedInit loads this local file at init_weights; the contract hook
    # (transfer.contract.VerifyBackboneHook) then proves the load was complete.
    backbone_cfg.init_cfg = dict(type="Pretrained", checkpoint=os.path.abspath(init_file))
    shared_head = shared_head_cfg(cfg)
    if shared_head is not None:  # a C4 detector: res5 is the RoI head's, from the export's layer4
        contract = load_shared_head_from(shared_head, backbone.checkpoint, contract, os.path.abspath(init_file),
                                         pretrain["path"], task.scope)
    return contract


def _fit_to_machine(cfg: Config, distributed: bool) -> None:
    """SyncBN only with several CUDA processes; gloo on the CPU, and DDP without device ids."""
    if not (distributed and torch.cuda.is_available()):
        # SyncBN needs several CUDA processes; a single process or CPU gets plain BN, the same
        # normalization within each process.
        for value in cfg.values():  # Config itself is no dict: walk its top-level values
            replace_type(value, "SyncBN", "BN")
    if not torch.cuda.is_available():
        cfg.setdefault("env_cfg", ConfigDict())
        cfg.env_cfg.setdefault("dist_cfg", ConfigDict())
        cfg.env_cfg.dist_cfg.backend = "gloo"  # NCCL is GPU-only
        if distributed:
            # mmengine passes device_ids=[LOCAL_RANK] to DDP, which DDP rejects for CPU modules.
            cfg.model_wrapper_cfg = dict(type="MMDistributedDataParallel", device_ids=None)


def _switch_to_amp(cfg: Config, task: Task) -> None:
    """--amp: the optim wrapper becomes AMP's (float16 on a GPU, bfloat16 on the CPU)."""
    if cfg.optim_wrapper.get("type", "OptimWrapper") != "OptimWrapper":
        # the toolboxes' --amp refuses the same way: only a plain wrapper can be swapped
        raise ValueError(f"--amp: {task.config} uses optim_wrapper type "
                         f"{cfg.optim_wrapper.type!r}; only 'OptimWrapper' can be switched to AMP")
    if not torch.cuda.is_available() and task.family in CPU_AMP_UNSUPPORTED:
        raise ValueError(f"--amp on the CPU (bfloat16) cannot run task {task.name!r}: "
                         f"{CPU_AMP_UNSUPPORTED[task.family]}; run it with --amp on a GPU "
                         "(float16) or without --amp")
    cfg.optim_wrapper.update(amp_wrapper_config())


def shared_head_cfg(cfg: Config) -> dict | None:
    """The RoI head's shared head of a C4 detector (mmdet `ResLayer`: res5), or None."""
    roi_head = cfg.model.get("roi_head") or {}
    head = roi_head.get("shared_head") if isinstance(roi_head, dict) else None
    if head is not None and head.get("type") != "ResLayer":
        raise ValueError(f"model.roi_head.shared_head.type is {head.get('type')!r}; the backbone contract knows "
                         "mmdet's 'ResLayer' (res5 of a C4 detector) only")
    return head


def load_shared_head_from(head_cfg: dict, checkpoint: dict, contract: dict, init_file: str, source: str,
                          scope: str) -> dict:
    """Point a C4 detector's res5 (mmdet `ResLayer` of stage 3, tensors `layer4.*`, the
    torchvision names) at the export and check its keys and shapes as the backbone's: the
    export's layer4 becomes the RoI head's res5, as in Detectron's C4 protocol. Returns the
    contract with those tensors loaded (no longer unexpected)."""
    head_cfg.init_cfg = None
    head = build_in_scope(head_cfg, scope)
    head_contract = check_backbone_state(head.state_dict(), checkpoint, source=f"{source} (res5: the RoI head's "
                                         "shared ResLayer)", allow_unexpected_keys=True)
    del head
    head_cfg.init_cfg = dict(type="Pretrained", checkpoint=init_file)
    loaded = set(head_contract["loaded"])
    return {"loaded": list(contract["loaded"]) + head_contract["loaded"],
            "unexpected": [k for k in contract["unexpected"] if k not in loaded]}


def assert_offline(cfg: Config) -> None:
    """Fail if the config would download anything or load weights other than the backbone's."""
    remote = [f"{path} = {value!r}" for path, value in walk_strings(cfg.to_dict())
              if value.startswith(REMOTE_PREFIXES)]
    if remote:
        raise ValueError("the config would download checkpoints (this suite runs offline): "
                         + "; ".join(remote))
    if cfg.get("load_from") or cfg.get("resume"):
        raise ValueError("load_from/resume would overwrite the backbone under test after its "
                         "contract check; start transfer runs from the backbone only")


def walk_strings(obj, path: str = ""):
    """Yield (dotted.path, value) for every string inside nested dicts and lists."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from walk_strings(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, list | tuple):
        for index, value in enumerate(obj):
            yield from walk_strings(value, f"{path}[{index}]")


def replace_type(obj, old: str, new: str) -> None:
    """Replace `type=old` by `type=new` in every dict nested in `obj` (in place)."""
    if isinstance(obj, dict):
        if obj.get("type") == old:
            obj["type"] = new
        for value in obj.values():
            replace_type(value, old, new)
    elif isinstance(obj, list | tuple):
        for value in obj:
            replace_type(value, old, new)


def protocol_of(cfg: Config, family: str | None = None) -> dict:
    """The settings both arms of a comparison must share, as results.json records them.

    Every task config states the backbone's norm_cfg, norm_eval and frozen_stages explicitly
    (the toolboxes' defaults differ), so the record never depends on a hidden default. A
    detection `family` adds its schedule: name ("1x" unless scaled) and lr milestones.
    """
    backbone = cfg.model.backbone
    missing = [k for k in ("norm_cfg", "norm_eval", "frozen_stages") if k not in backbone]
    if missing:
        raise ValueError(f"model.backbone must state {missing} explicitly so that the "
                         "protocol both arms share is on record")
    preprocessor = cfg.model.data_preprocessor
    protocol = {
        "norm_cfg": to_plain(backbone.norm_cfg),
        "norm_eval": bool(backbone.norm_eval),
        "frozen_stages": int(backbone.frozen_stages),
        "mean": to_plain(preprocessor.mean),
        "std": to_plain(preprocessor.std),
        "bgr_to_rgb": bool(preprocessor.get("bgr_to_rgb", False)),
        "optimizer": to_plain(cfg.optim_wrapper.optimizer),
        "batch_size_per_process": int(cfg.train_dataloader.batch_size),
        # the batch the recipe's lr is set for, and whether the lr is scaled to the run's batch
        "reference_batch_size": (cfg.get("auto_scale_lr") or {}).get("base_batch_size"),
        "lr_scaled": bool((cfg.get("auto_scale_lr") or {}).get("enable", False)),
        # mixed precision: the autocast dtype (float16 on GPU, bfloat16 on CPU), or null
        "amp": amp_dtype_of(cfg.optim_wrapper),
    }
    train_cfg = cfg.train_cfg
    for key in ("max_iters", "max_epochs"):
        if key in train_cfg:
            protocol[key] = int(train_cfg[key])
    if family in SCHEDULED_FAMILIES:
        protocol.update(recorded_schedule(cfg).record())
    return protocol


def amp_dtype_of(optim_wrapper: dict) -> str | None:
    """The autocast dtype an optim_wrapper config trains in, or None for float32."""
    kind = optim_wrapper.get("type", "OptimWrapper")
    if kind == CPU_AMP_WRAPPER:
        return "bfloat16"
    if kind == "AmpOptimWrapper":
        return str(optim_wrapper.get("dtype") or "float16")  # mmengine's default on a GPU
    return None


def recipe_hash(cfg: Config) -> str:
    """config_hash of the recipe: the resolved config without run-specific keys and backbone file.

    Equal for every arm and seed of one task config (+ overrides), so equal hashes show that
    two runs followed the same protocol; paths in the checkout count relative to it, so two
    clones hash alike (common.provenance.config_hash).
    """
    plain = to_plain(cfg.to_dict())
    for key in RUN_SPECIFIC_KEYS:
        plain.pop(key, None)
    plain["model"]["backbone"].pop("init_cfg", None)
    # the C4 head's res5 (faster_rcnn_c4_voc) loads the export's file too: the arm's, not the recipe's
    plain["model"].get("roi_head", {}).get("shared_head", {}).pop("init_cfg", None)
    return config_hash(plain)
