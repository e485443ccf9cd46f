"""The backbone contract: what a stage-1 checkpoint must give the toolbox backbone.

mmengine's `init_cfg=dict(type='Pretrained')` loads with strict=False and only warns on
missing keys, so a partly loaded backbone would train silently. Here:
  before the Runner   `check_backbone_state` compares the checkpoint with the state dict of the
                      backbone the config builds: every parameter and buffer must be present
                      with the same shape (a missing key is an error that names it); a key the
                      model does not use is an error when it belongs to a module the backbone
                      has (`layer3.5.*` given to a ResNet-18: a deeper network's checkpoint),
                      unless allowed, and is listed otherwise (e.g. a head's `projector.*`);
                      `check_arch` compares the metadata's arch with the config's ResNet depth;
  after init_weights  `verify_backbone_equals` (run by `VerifyBackboneHook` at before_train, or
                      by a dry run after `model.init_weights()`) checks that every backbone
                      tensor equals the checkpoint's.
  the norm            `check_norm` compares the norm stage 1 trained with (backbone.json `norm`,
                      `norm_groups`; BN when absent, as in every export written before GroupNorm
                      and in torchvision's checkpoints: common.backbone.trained_norm) with the
                      `norm_cfg` the config builds.
mmdet, mmseg and mmpose `ResNet` (style='pytorch', plain stem) name their tensors exactly as
torchvision does (`conv1.weight`, `bn1.running_mean`, `layer1.0.downsample.0.weight`, ...),
and stage 1 exports that layout, so a BN backbone loads without renaming. With GroupNorm the
toolboxes name the norm layers after mmcv's abbreviation (`gn1`, `layer1.0.gn2`; downsample
norms stay `downsample.1`), while torchvision's GroupNorm ResNet keeps `bn1`: `toolbox_layout`
renames exactly those keys.
"""

from __future__ import annotations

import re

import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from common.backbone import trained_norm
from common.vocab import BN, GN, GN_GROUPS

# The ResNet depths mmdet/mmseg/mmpose can build. Stage 1 also trains resnet10
# (torchvision ResNet(BasicBlock, [1, 1, 1, 1])), which none of the toolboxes can build.
ARCH_DEPTH = {"resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101, "resnet152": 152}
# BatchNorm's step counter is a buffer but not a weight: stage 1 drops it (common.backbone)
# and momentum-based BN never reads it, so it is the one backbone tensor not loaded.
IGNORED_SUFFIXES = ("num_batches_tracked",)


class BackboneContractError(ValueError):
    """A checkpoint that cannot fill the model's backbone exactly."""


def arch_of_backbone_cfg(backbone_cfg: dict) -> str:
    """The torchvision arch name ('resnet50') of a toolbox ResNet backbone config."""
    kind, depth = backbone_cfg.get("type"), backbone_cfg.get("depth")
    if kind != "ResNet":
        # mmseg's ResNetV1c/V1d (deep stem, `stem.*` keys) or any other family: no torchvision
        # layout, so a stage-1 export could never fill it.
        raise BackboneContractError(
            f"model.backbone.type is {kind!r}; transfer supports the toolboxes' plain-stem "
            "'ResNet' only (the torchvision key layout stage 1 exports)")
    arch = f"resnet{depth}"
    if arch not in ARCH_DEPTH:
        raise BackboneContractError(
            f"model.backbone.depth={depth} is not one of {sorted(ARCH_DEPTH.values())}")
    return arch


# mmcv's build_norm_layer names a layer by its type's abbreviation + postfix: BN -> bn1, GN -> gn1
NORM_OF_TYPE = {"BN": BN, "SyncBN": BN, "BN2d": BN, "GN": GN}
_TORCHVISION_NORM_KEY = re.compile(r"(^|\.)bn(\d)\.")


def norm_of_backbone_cfg(backbone_cfg: dict) -> tuple[str, int | None]:
    """("bn", None) or ("gn", groups): the norm a toolbox ResNet config builds."""
    norm_cfg = backbone_cfg.get("norm_cfg") or {"type": "BN"}
    kind = norm_cfg.get("type")
    if kind not in NORM_OF_TYPE:
        raise BackboneContractError(
            f"model.backbone.norm_cfg.type={kind!r}: stage 1 exports {sorted(NORM_OF_TYPE)} backbones only")
    norm = NORM_OF_TYPE[kind]
    return norm, (int(norm_cfg.get("num_groups", GN_GROUPS)) if norm == GN else None)


def check_norm(meta: dict, backbone_cfg: dict, task: str) -> str:
    """Fail unless the task builds the norm (and GroupNorm's groups) stage 1 trained with."""
    trained, built = trained_norm(meta), norm_of_backbone_cfg(backbone_cfg)
    if trained != built:
        def say(norm):
            return f"GroupNorm ({norm[1]} groups)" if norm[0] == GN else "BatchNorm"
        hint = (" (the GroupNorm tasks: fpn_gn, mask_rcnn_gn and their _tiny variants)" if trained[0] == GN
                else " (a BN task, or pretrain with norm=\"gn\")")
        raise BackboneContractError(
            f"{meta.get('path', 'the checkpoint')} was pretrained with {say(trained)} but task {task!r} "
            f"builds {say(built)} (model.backbone.norm_cfg); fine-tune it on a task with the same "
            f"norm{hint}")
    return trained[0]


def toolbox_layout(checkpoint: dict, norm: str) -> dict:
    """The export's keys as the toolbox ResNet of `norm` names them: unchanged for BN; for GN
    `bn<k>.` becomes `gn<k>.` (torchvision's GroupNorm ResNet keeps the bn names)."""
    if norm == BN:
        return checkpoint
    return {_TORCHVISION_NORM_KEY.sub(rf"\1{norm}\2.", key): value for key, value in checkpoint.items()}


def check_arch(meta_arch: str, config_arch: str, task: str) -> None:
    """Fail unless the checkpoint's arch is buildable and equals the arch the task builds."""
    if meta_arch not in ARCH_DEPTH:
        raise BackboneContractError(
            f"backbone arch {meta_arch!r} cannot be fine-tuned: mmdet/mmseg/mmpose ResNet builds "
            f"{', '.join(ARCH_DEPTH)} only (resnet10 has no toolbox counterpart)")
    if meta_arch != config_arch:
        raise BackboneContractError(
            f"the checkpoint is a {meta_arch} but task {task!r} builds a {config_arch} "
            f"(model.backbone.depth={ARCH_DEPTH[config_arch]}); use a {config_arch} export, a "
            "*_tiny task (resnet18), or override the depth and the channels that follow it")


def expected_backbone_state(backbone_state: dict) -> dict:
    """The backbone tensors a checkpoint must provide (all but BN's step counters)."""
    return {k: v for k, v in backbone_state.items() if not k.endswith(IGNORED_SUFFIXES)}


def check_backbone_state(backbone_state: dict, checkpoint: dict, source: str = "checkpoint",
                         allow_unexpected_keys: bool = False) -> dict:
    """Check keys and shapes of `checkpoint` against a backbone state dict.

    Raises BackboneContractError naming every missing key and every shape mismatch, and the
    unexpected keys inside the backbone's own modules (another architecture) unless
    `allow_unexpected_keys`; returns {"loaded": [keys filled], "unexpected": [checkpoint keys
    the backbone does not have]}.
    """
    expected = expected_backbone_state(backbone_state)
    missing = [k for k in expected if k not in checkpoint]
    if missing:
        raise BackboneContractError(
            f"{source} lacks {len(missing)} of the {len(expected)} backbone tensors the model "
            f"needs: {', '.join(missing)}")
    mismatched = [f"{k}: checkpoint {tuple(checkpoint[k].shape)} vs model {tuple(v.shape)}"
                  for k, v in expected.items() if tuple(checkpoint[k].shape) != tuple(v.shape)]
    if mismatched:
        raise BackboneContractError(
            f"{source} has {len(mismatched)} backbone tensor(s) of the wrong shape: "
            + "; ".join(mismatched))
    unexpected = sorted(k for k in checkpoint if k not in expected)
    foreign = other_architecture_keys(expected, unexpected)
    if foreign and not allow_unexpected_keys:
        raise BackboneContractError(
            f"{source} has {len(foreign)} tensor(s) in modules of the backbone that the model does not "
            f"have, e.g. {', '.join(foreign[:4])}: it is another architecture (a deeper network's "
            "checkpoint?) and would load only in part. Use the export of the architecture the task "
            "builds (or --arch with the checkpoint's own arch); --allow-unexpected-keys loads it anyway")
    return {"loaded": list(expected), "unexpected": unexpected}


def other_architecture_keys(expected: dict, unexpected: list[str]) -> list[str]:
    """The unexpected keys under a top-level module the backbone has (conv1, layer1, ...):
    blocks or layers the target lacks, which only another architecture has."""
    modules = {key.split(".")[0] for key in expected}
    return [key for key in unexpected if key.split(".")[0] in modules]


def verify_backbone_equals(backbone: torch.nn.Module, checkpoint: dict, source: str = "checkpoint"
                           ) -> int:
    """Check that every backbone tensor equals the checkpoint's; return how many were compared.

    Run after the model's init_weights: proves the Pretrained init loaded everything and that
    no later initializer overwrote part of it.
    """
    expected = expected_backbone_state(backbone.state_dict())
    check_backbone_state(expected, checkpoint, source, allow_unexpected_keys=True)  # judged before the run
    differing = [k for k, v in expected.items()
                 if not torch.equal(v.detach().cpu(), checkpoint[k].to(dtype=v.dtype))]
    if differing:
        raise BackboneContractError(
            f"after init_weights {len(differing)} backbone tensor(s) differ from {source}: "
            + ", ".join(differing))
    return len(expected)


def verify_pretrained_parts(model: torch.nn.Module, checkpoint: dict, source: str = "checkpoint") -> int:
    """verify_backbone_equals for the model's backbone and, in a C4 detector, the RoI head's
    shared res5 (loaded from the export's layer4); the number of tensors compared."""
    count = verify_backbone_equals(model.backbone, checkpoint, source)
    shared_head = getattr(getattr(model, "roi_head", None), "shared_head", None)
    if shared_head is not None:
        count += verify_backbone_equals(shared_head, checkpoint, f"{source} (res5: the RoI head's shared ResLayer)")
    return count


class VerifyBackboneHook(Hook):
    """At before_train, i.e. after the Runner's init_weights, check the backbone equals the
    checkpoint. Registered on the Runner object (`runner.register_hook`), not by name."""

    priority = "VERY_HIGH"

    def __init__(self, checkpoint: dict, source: str):
        self.checkpoint = checkpoint
        self.source = source

    def before_train(self, runner) -> None:
        if runner.iter > 0:  # resumed: the weights are fine-tuned ones by now
            runner.logger.info(f"backbone contract: resumed at iteration {runner.iter}; the "
                               "backbone was verified when this run started")
            self.checkpoint = None
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        count = verify_pretrained_parts(model, self.checkpoint, self.source)
        runner.logger.info(f"backbone contract: all {count} backbone tensors equal {self.source}")
        self.checkpoint = None  # free the copy; training changes the weights from here on
