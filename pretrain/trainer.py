"""Stage 1 on mmengine: config → datasets, model, sampler, hook → Runner; train; export.

The Runner brings logging, checkpoints, LR schedules and the torchrun/Slurm launchers. What
this suite adds is wired here, explicitly: the arm's method (pretrain.methods), the
TrainingLoss the model trains through (pretrain.training_loss), the SubsetSampler, and the
MethodHook (pretrain.hook) that connects them and measures the cost.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
import uuid

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.dist import get_dist_info, init_dist, is_distributed
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner

from common.amp import amp_dtype, amp_optim_wrapper
from common.checkpoints import ATOMIC_BACKEND, latest_intact_checkpoint
from common.distributed import init_cpu_process_group
from common.provenance import config_hash, versions
from common.timing import LoopTimerHook
from common.vocab import GN, GN_GROUPS
from common.workdir import claim_work_dir
from pretrain.config import CONFIG_KEYS, check_config, resolve_config, train_settings
from pretrain.data import build_datasets, reference_image_size
from pretrain.hook import MethodHook
from pretrain.linear_lr import LinearLRHook, planned_iterations
from pretrain.methods import build_method
from pretrain.moco import FORWARD_PASSES, MOCO_V2, KNNAccuracy, MoCoV2, use_two_views
from pretrain.models import Classifier, build_network, forward_flops
from pretrain.sampler import SubsetSampler, per_rank_length
from pretrain.selection import relative_selection_cost
from pretrain.training_loss import TrainingLoss


def plain_config(cfg: Config) -> dict:
    """The config as plain JSON-able data: what the hash and the saved config are made of."""
    d = cfg.to_dict() if isinstance(cfg, Config) else copy.deepcopy(cfg)
    return json.loads(json.dumps({k: d[k] for k in sorted(d) if k in CONFIG_KEYS}, default=list))


class TopKAccuracy(BaseMetric):
    """Top-1/top-5 accuracy in percent; with `shot_groups` (ImageNet-LT) also many/medium/few."""

    default_prefix = None

    def __init__(self, shot_groups: np.ndarray | None = None):
        super().__init__()
        self.shot_groups = shot_groups

    def process(self, data_batch, data_samples) -> None:
        logits = torch.cat([s["logits"] for s in data_samples]).float().cpu()
        labels = torch.as_tensor(data_batch["label"]).cpu()
        top5 = logits.topk(min(5, logits.shape[1]), dim=1).indices
        hit1 = (top5[:, 0] == labels)
        hit5 = (top5 == labels[:, None]).any(dim=1)
        for h1, h5, y in zip(hit1.tolist(), hit5.tolist(), labels.tolist(), strict=True):
            self.results.append((h1, h5, y))

    def compute_metrics(self, results) -> dict:
        hit1 = np.array([r[0] for r in results], dtype=float)
        hit5 = np.array([r[1] for r in results], dtype=float)
        metrics = {"top1": 100 * hit1.mean(), "top5": 100 * hit5.mean()}
        if self.shot_groups is not None:
            groups = self.shot_groups[np.array([r[2] for r in results])]
            for g, name in enumerate(("many_shot", "medium_shot", "few_shot")):
                if (groups == g).any():
                    metrics[f"{name}_top1"] = 100 * hit1[groups == g].mean()
        return metrics


class ZeroGradFirstOptimWrapper(OptimWrapper):
    """mmengine's OptimWrapper with the plain loop's order: gradients are released right before
    backward (as `zero_grad(); loss.backward(); step()`), not right after the step.

    Same updates, but on CPU the step is faster: released right after the step, the gradients'
    memory goes to the next forward's activations and backward then faults in fresh pages
    (measured on ResNet-18, batch 64 at 32 px: 80 ms vs 72 ms per step). Gradient accumulation
    keeps mmengine's order.
    """

    def update_params(self, loss, step_kwargs=None, zero_kwargs=None) -> None:
        if self._accumulative_counts != 1:
            return super().update_params(loss, step_kwargs, zero_kwargs)
        self.zero_grad(**(zero_kwargs or {}))
        self.backward(self.scale_loss(loss))
        self.step(**(step_kwargs or {}))


def _collate(batch):
    return {"inputs": torch.stack([b["inputs"] for b in batch]),
            "label": torch.tensor([b["label"] for b in batch]),
            "index": torch.tensor([b["index"] for b in batch])}


def per_process_batch(global_batch: int, world_size: int) -> int:
    """Each process's batch: `train.batch_size` is the global batch (the recipe's 256 stays 256
    under `torchrun --nproc_per_node 8`, at the config's lr), split evenly over the processes."""
    if global_batch % world_size:
        raise ValueError(f"train.batch_size {global_batch} is the global batch and must divide evenly over "
                         f"{world_size} processes (e.g. {global_batch // world_size * world_size} or "
                         f"{(global_batch // world_size + 1) * world_size})")
    return global_batch // world_size


def lr_schedulers(train_cfg: dict, fraction: float, iters_per_epoch: int) -> list[dict]:
    """mmengine param_scheduler dicts for `train`: an optional linear warm-up (from 0.1×), then
    step decay (×gamma at each milestone) or cosine decay to 0 at the end of training. A linear
    schedule (`lr_schedule="linear"`) is not an mmengine scheduler: `linear_lr_hook` sets it per
    iteration over the exact iterations trained.

    fraction < 1 compresses the whole schedule into that fraction of the configured epochs (a
    budgeted run): warm-up, milestones and the end fall inside epochs, so they are placed on
    iterations (a budget's epochs are full but the last). fraction = 1 steps per epoch, whatever
    an epoch's length (a DaR epoch is shorter than an i.i.d. one).
    """
    train_cfg = train_settings(train_cfg)
    epochs = int(train_cfg["epochs"])
    warmup = float(train_cfg["warmup_epochs"])
    milestones = train_cfg["milestones"]
    gamma = float(train_cfg["gamma"])
    kind = train_cfg["lr_schedule"]
    if kind == "linear":
        return []
    decay = dict(type="CosineAnnealingLR", eta_min=0.0)
    schedulers = []
    if fraction == 1.0:
        if warmup:
            # per iteration: stepped per epoch, LinearLR over one epoch would never leave its start
            # factor (it applies only on steps begin..end-1). Warm-up epochs always use the full set.
            schedulers.append(dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=int(warmup),
                                   convert_to_iter_based=True))
        if kind == "cosine":
            decay["T_max"] = epochs - int(warmup)
            schedulers.append(dict(**decay, by_epoch=True, begin=int(warmup), end=epochs))
        else:
            schedulers.append(dict(type="MultiStepLR", by_epoch=True, milestones=milestones, gamma=gamma))
        return schedulers

    def at(epoch: float) -> int:  # the iteration where `epoch` of the configured schedule falls
        return max(1, round(epoch * fraction * iters_per_epoch))

    if warmup:
        schedulers.append(dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=at(warmup)))
    if kind == "cosine":
        begin = at(warmup) if warmup else 0
        decay["T_max"] = at(epochs) - begin
        schedulers.append(dict(**decay, by_epoch=False, begin=begin, end=at(epochs)))
    else:
        schedulers.append(dict(type="MultiStepLR", by_epoch=False, milestones=[at(m) for m in milestones],
                               gamma=gamma))
    return schedulers


def linear_lr_hook(train_cfg: dict, method, world_size: int, batch_size: int, iters_per_epoch: int):
    """The per-iteration linear schedule for `train.lr_schedule="linear"` (pretrain.linear_lr),
    None for a step schedule. Its warm-up spans `warmup_epochs` of the compressed schedule."""
    train_cfg = train_settings(train_cfg)
    if train_cfg["lr_schedule"] != "linear":
        return None
    warmup = float(train_cfg["warmup_epochs"])
    iterations = planned_iterations(method, world_size, batch_size)
    if iterations is None:  # subsets known only from the losses: progress in epochs
        return LinearLRHook(None, method.train_epochs(), warmup * method.schedule_fraction)
    return LinearLRHook(iterations, method.train_epochs(),
                        round(warmup * method.schedule_fraction * iters_per_epoch))


def subset_meta(train_set, data: dict, arch: str, epochs: int, forward_passes: int = 1) -> dict:
    """The export's `subset` (what the selection kept, for which target) and `selection_cost`
    (its measured cost, and `cost`: its FLOPs as a share of i.i.d. pretraining of `arch` on the
    whole source at the reference resolution), for a run on a data.subset; {} otherwise."""
    record = getattr(train_set, "subset_record", None)
    if record is None:
        return {}
    net = build_network(arch, train_set.num_classes)
    # forward + backward ≈ 3 forwards (MoCo v2: + the key encoder's forward)
    train_flops = (forward_passes + 2) * forward_flops(net, reference_image_size(data))
    cost = dict(record["cost"])
    cost["cost"] = relative_selection_cost(cost["flops"], train_flops, train_set.source_size, epochs)
    subset = {k: record[k] for k in ("method", "fraction", "seed", "params", "size", "target", "features")
              if k in record}
    return {"subset": {**subset, "path": str(data["subset"]), "source_size": train_set.source_size},
            "selection_cost": cost}


def build_runner(cfg: Config, work_dir: str, launcher: str = "none", resume: bool = False,
                 overwrite: bool = False) -> Runner:
    """A Runner for one pretraining run; `resume=True` continues from work_dir's newest intact
    checkpoint (none: a fresh start), `overwrite=True` clears a work dir that holds another run.
    A work dir holding a run is refused otherwise, and so is a resume with a changed config."""
    check_config(cfg)
    settings = resolve_config(cfg)  # every value with its default (pretrain.config.CONFIG)
    if launcher != "none" and not is_distributed():
        # before building the samplers: they shard by rank
        if torch.cuda.is_available():
            init_dist(launcher, backend="nccl")
        else:
            init_cpu_process_group(launcher)
    seed = int(settings["seed"])
    train_cfg = settings["train"]
    augment = settings["augment"]
    timer = LoopTimerHook()  # where the time goes: the export's `timing`
    started = time.perf_counter()
    data = settings["data"]
    train_set, val_set = build_datasets(data, seed, augment["randaugment"])
    objective = settings["objective"]
    moco = objective["name"] == MOCO_V2
    if moco:
        use_two_views(train_set, int(data["image_size"]))
    passes = FORWARD_PASSES[objective["name"]]
    timer.phases["dataset_build_s"] = time.perf_counter() - started
    world_size = get_dist_info()[1]
    batch_size = per_process_batch(int(train_cfg["batch_size"]), world_size)
    workers = int(train_cfg["workers"])
    sampler = SubsetSampler(len(train_set), seed=seed, batch_size=batch_size)
    loader_kw = dict(num_workers=workers, persistent_workers=workers > 0, collate_fn=_collate,
                     pin_memory=torch.cuda.is_available())
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, sampler=sampler, **loader_kw)
    val_loader = torch.utils.data.DataLoader(
        val_set, batch_size=batch_size, sampler=DefaultSampler(val_set, shuffle=False), **loader_kw)

    plain = plain_config(cfg)
    amp = bool(train_cfg["amp"])
    epochs = int(train_cfg["epochs"])
    size, reference = int(data["image_size"]), reference_image_size(data)
    method = build_method(cfg["arm"], dataset_size=len(train_set), epochs=epochs, seed=seed)
    norm = settings["norm"]
    export_meta = {
        "arch": cfg["arch"],
        "norm": norm,  # stage 2 builds the same (transfer.contract.check_norm)
        "norm_groups": GN_GROUPS if norm == GN else None,
        "dataset": data["type"],
        "num_classes": train_set.num_classes,
        "seed": seed,
        "replicate": int(settings["replicate"]),  # the pairing key across arms (gather.stats)
        "label": settings["label"],
        "control_of": settings["control_of"],
        # how gather names and orders the method (it does not import pretrain)
        "method_label": method.label or method.name,
        "method_order": method.order,
        "augment": augment,
        "world_size": world_size,
        "batch_size_per_process": batch_size,
        "global_batch_size": batch_size * world_size,
        "amp": amp,
        "amp_dtype": amp_dtype() if amp else None,
        "objective": objective,
        "forward_passes": passes,  # encoder forwards per trained sample (the cost's unit: pretrain.hook)
        "config_hash": config_hash(plain),
        "versions": versions(),
        "normalization": train_set.normalization,
        "image_size": size,
        "reference_image_size": reference,
        "pixel_scale": (size / reference) ** 2,
        "source_size": train_set.source_size,
        **subset_meta(train_set, data, cfg["arch"], epochs, passes),
    }
    loss = TrainingLoss(method, mix=augment["mix"], mix_alpha=augment["mix_alpha"], seed=seed,
                        forward_passes=passes)
    hook = MethodHook(method, loss, sampler, cfg["arm"], export_dir=os.path.join(work_dir, "export"),
                      export_meta=export_meta, batch_size=batch_size, timer=timer)
    iters_per_epoch = math.ceil(per_rank_length(len(train_set), world_size, batch_size) / batch_size)
    schedulers = lr_schedulers(train_cfg, method.schedule_fraction, iters_per_epoch)
    linear_hook = linear_lr_hook(train_cfg, method, world_size, batch_size, iters_per_epoch)
    log_interval = int(settings["log_interval"])
    claim_work_dir(work_dir, plain, resume=resume, overwrite=overwrite, write=get_dist_info()[0] == 0)
    resume_from = latest_intact_checkpoint(work_dir, log=lambda m: print(f"resume: {m}", flush=True)) \
        if resume else None
    on_gpu = torch.cuda.is_available()
    # Runner reads the DDP wrapper from `cfg`; device_ids=None lets DDP wrap a CPU model
    # (mmengine's default passes [LOCAL_RANK], which DDP rejects for CPU modules).
    cpu_ddp = dict(type="MMDistributedDataParallel", device_ids=None, broadcast_buffers=False)
    # The model is built before Runner seeds anything: give its init a private, seeded stream.
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if moco:
            model = MoCoV2(cfg["arch"], loss, norm, seed=seed,
                           **{k: v for k, v in objective.items() if k != "name"})
        else:
            model = Classifier(cfg["arch"], train_set.num_classes, loss, norm)
    timer.phases["model_build_s"] = time.perf_counter() - started
    optimizer = torch.optim.SGD(
        # MoCo's key encoder is not trained by gradient
        [p for p in model.parameters() if p.requires_grad], lr=float(train_cfg["lr"]),
        momentum=float(train_cfg["momentum"]), weight_decay=float(train_cfg["weight_decay"]),
        nesterov=bool(train_cfg["nesterov"]))
    return Runner(
        model=model,
        work_dir=work_dir,
        train_dataloader=train_loader,
        val_dataloader=val_loader,
        val_evaluator=Evaluator([KNNAccuracy() if moco else TopKAccuracy(getattr(val_set, "shot_groups", None))]),
        train_cfg=dict(by_epoch=True, max_epochs=method.train_epochs(),
                       val_interval=int(settings["val_interval"])),
        val_cfg=dict(),
        # AMP: mmengine's AmpOptimWrapper as is (its zero_grad-after-step order: the speed-up of
        # ZeroGradFirstOptimWrapper is a CPU float32 matter, the updates are the same)
        optim_wrapper=(amp_optim_wrapper if amp else ZeroGradFirstOptimWrapper)(optimizer),
        param_scheduler=schedulers,
        default_hooks=dict(
            logger=dict(type="LoggerHook", interval=log_interval),
            # common.checkpoints: the new checkpoint and its pointer complete before old ones go
            checkpoint=dict(type="SafeCheckpointHook", interval=int(settings["checkpoint_interval"]),
                            max_keep_ckpts=int(settings["max_keep_ckpts"]),
                            backend_args=dict(ATOMIC_BACKEND)),
        ),
        custom_hooks=[hook, timer] + ([linear_hook] if linear_hook else []),
        launcher=launcher,
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend="nccl" if on_gpu else "gloo")),
        cfg=Config(plain if on_gpu else {**plain, "model_wrapper_cfg": cpu_ddp}),
        randomness=dict(seed=seed, deterministic=bool(settings["deterministic"])),
        load_from=resume_from,  # with resume=True: continue from exactly this checkpoint
        resume=resume_from is not None,
        default_scope="mmengine",
        # unique: mmengine keys its logger/visualizer instances by it (+ a timestamp in seconds), so two
        # runs started within a second in one process would share the first one's (maybe removed) log dir
        experiment_name=f"pretrain_{uuid.uuid4().hex[:8]}",
    )


def train(cfg: Config, work_dir: str, launcher: str = "none", resume: bool = False,
          overwrite: bool = False) -> dict:
    """Train (or resume), evaluate, export; return the export metadata."""
    started = time.perf_counter()
    runner = build_runner(cfg, work_dir, launcher, resume, overwrite)
    timer = next(h for h in runner.hooks if isinstance(h, LoopTimerHook))
    # the rest of build_runner (the Runner's constructor, the work dir's claim, the method)
    timer.phases["runner_build_s"] = (time.perf_counter() - started - timer.phases["dataset_build_s"]
                                      - timer.phases["model_build_s"])
    timer.train_called = time.perf_counter()
    runner.train()
    hook = next(h for h in runner.hooks if isinstance(h, MethodHook))
    return hook.export_meta_now()
