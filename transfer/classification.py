"""Fine-grained classification transfer (`finegrained_finetune`, `finegrained_linear`): a plain
torchvision loop, the counterpart of the toolbox tasks for Chakraborty et al.'s targets.

Why not mmpretrain: it is not part of the pinned stack (its 1.x releases pin mmcv < 2.2 but add
their own dependency set), and the task needs nothing a toolbox gives: an ImageFolder, a
torchvision ResNet (the key layout stage 1 exports, so no key is renamed), SGD, top-1/top-5.
The backbone contract is the toolbox tasks' (transfer.contract): every backbone tensor present
with its shape, the arch equal to the metadata's, and after loading every tensor compared with
the checkpoint; the linear probe also proves at the end that the frozen backbone did not change.

The linear probe follows Kornblith et al. (2019, "Do Better ImageNet Models Transfer Better?",
the fine-grained transfer protocol on Cars and Birds): the frozen backbone's pooled features of
the centre crops are computed once, standardized with the training split's statistics (MAE's
BatchNorm without affine), and the linear classifier trains on them (SGD, the config's
schedule); no augmentation, so one feature pass instead of one per epoch.

Run: config (configs/transfer/finegrained_*.py) + overrides + --data-root → train
`train.epochs` epochs (checkpoint after each, atomically; --resume continues) → evaluate on
the val split → results.json (common.results) with metrics top1/top5 in percent.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
import torchvision
import torchvision.transforms as T
from mmengine.config import Config
from torch import nn

from common.checkpoints import safe_load
from common.errors import check_finite_loss
from common.files import save_torch_atomic, write_json_atomic
from common.provenance import config_hash, to_plain, versions
from common.results import TransferResults
from common.vocab import RESULTS_FILE
from transfer.contract import verify_backbone_equals
from transfer.request import (
    TORCHVISION_SCOPE,
    TransferRequest,
    backbone_contract,
    check_auto_scale_lr,
    check_flags_apply,
    claim,
    dump_config,
    load_task_backbone,
)
from transfer.tasks import Task

SCOPE = TORCHVISION_SCOPE  # the tasks' `scope`: run here, not by an mmengine Runner
MODES = ("finetune", "linear")
CONFIG_KEYS = {"default_scope", "arch", "mode", "data_root", "image_size", "mean", "std", "train", "filename"}
TRAIN_KEYS = {"epochs", "batch_size", "lr", "momentum", "weight_decay", "milestones", "gamma", "workers",
              "optimizer"}
OPTIMIZERS = ("sgd", "adam")  # train.optimizer; Chakraborty et al. fine-tune fMoW with Adam
CHECKPOINT = "last.pth"
NON_FINITE_ADVICE = "lower train.lr or lengthen the schedule"


def load_task_config(config: str | os.PathLike, cfg_options: dict | None = None,
                     data_root: str | os.PathLike | None = None) -> Config:
    """The task's config with overrides and --data-root; unknown keys are errors naming them."""
    cfg = Config.fromfile(str(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if data_root is not None:
        cfg.data_root = str(data_root)
    unknown = sorted(set(cfg) - CONFIG_KEYS) + [f"train.{k}" for k in sorted(set(cfg.train) - TRAIN_KEYS)]
    if unknown:
        raise KeyError(f"{config}: unknown key(s) {unknown}")
    if cfg.mode not in MODES:
        raise ValueError(f"{config}: mode must be one of {MODES}, got {cfg.mode!r}")
    if cfg.train.get("optimizer", "sgd") not in OPTIMIZERS:
        raise ValueError(f"{config}: train.optimizer must be one of {OPTIMIZERS}, got {cfg.train.optimizer!r}")
    return cfg


def classification_recipe_hash(cfg: Config) -> str:
    """The recipe's hash: the config without where its data lives (equal for every arm/seed)."""
    plain = to_plain(cfg.to_dict())
    plain.pop("data_root", None)
    return config_hash(plain)


def build_classifier(arch: str, num_classes: int) -> nn.Module:
    """torchvision's network of `arch` (stage 1's key layout) with a `num_classes` classifier."""
    if not hasattr(torchvision.models, arch):
        raise ValueError(f"arch {arch!r} is not a torchvision model")
    return getattr(torchvision.models, arch)(num_classes=num_classes)


def backbone_view(net: nn.Module) -> nn.Module:
    """`net` without its classifier as the contract sees it (keys of the backbone only)."""

    class _Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            for name, child in net.named_children():
                if name != "fc":
                    self.add_module(name, child)

    return _Backbone()


def image_folders(root: str | os.PathLike, image_size: int, mean, std) -> tuple:
    """(train, val) torchvision ImageFolders of ROOT/train and ROOT/val with the paper's crops;
    a missing split, an empty one, or differing class lists are errors naming the folder."""
    norm = T.Normalize([m / 255 for m in mean], [s / 255 for s in std])
    train_tf = T.Compose([T.RandomResizedCrop(image_size), T.RandomHorizontalFlip(), T.ToTensor(), norm])
    val_tf = T.Compose([T.Resize(round(image_size * 256 / 224)), T.CenterCrop(image_size), T.ToTensor(), norm])
    splits = []
    for split, tf in (("train", train_tf), ("val", val_tf)):
        folder = Path(root) / split
        if not folder.is_dir():
            raise FileNotFoundError(f"fine-grained data: {folder} not found (expected {root}/{{train,val}}/<class>/*)")
        try:
            splits.append(torchvision.datasets.ImageFolder(str(folder), transform=tf))
        except FileNotFoundError as exc:  # torchvision's message for a class folder without images
            raise FileNotFoundError(f"fine-grained data: {folder}: {exc}") from None
    if splits[0].classes != splits[1].classes:
        raise ValueError(f"fine-grained data under {root}: train and val have different class folders")
    return tuple(splits)


@torch.no_grad()
def evaluate(net: nn.Module, loader, device) -> dict:
    """Top-1 / top-5 accuracy in percent over the loader."""
    net.eval()
    hit1 = hit5 = total = 0
    for images, labels in loader:
        logits = net(images.to(device))
        top = logits.topk(min(5, logits.shape[1]), dim=1).indices.cpu()
        hit1 += int((top[:, 0] == labels).sum())
        hit5 += int((top == labels[:, None]).any(dim=1).sum())
        total += len(labels)
    return {"top1": 100.0 * hit1 / total, "top5": 100.0 * hit5 / total}


def protocol_record(cfg: Config) -> dict:
    """What every arm of a comparison shares (results.json `protocol`)."""
    linear = cfg.mode == "linear"
    return {"norm_cfg": {"type": "BN"}, "norm_eval": linear, "frozen_stages": 4 if linear else -1,
            "mean": list(cfg.mean), "std": list(cfg.std), "bgr_to_rgb": False, "mode": cfg.mode,
            "image_size": int(cfg.image_size),
            "optimizer": optimizer_record(cfg.train),
            "batch_size_per_process": int(cfg.train.batch_size), "world_size": 1,
            "effective_batch_size": int(cfg.train.batch_size), "reference_batch_size": None, "lr_scaled": False,
            "max_epochs": int(cfg.train.epochs),
            "data_root": str(cfg.data_root)}  # the target: shared by every arm compared on it


def optimizer_record(train) -> dict:
    """The optimizer as results.json records it: SGD with momentum, or Adam (no momentum key)."""
    if train.get("optimizer", "sgd") == "adam":
        return {"type": "Adam", **{k: to_plain(train[k]) for k in ("lr", "weight_decay")}}
    return {"type": "SGD", **{k: to_plain(train[k]) for k in ("lr", "momentum", "weight_decay")}}


def build_optimizer(params, train) -> torch.optim.Optimizer:
    """`train.optimizer`: "sgd" (momentum, weight decay) or "adam" (weight decay as L2, torch's Adam)."""
    if train.get("optimizer", "sgd") == "adam":
        return torch.optim.Adam(params, lr=float(train.lr), weight_decay=float(train.weight_decay))
    return torch.optim.SGD(params, lr=float(train.lr), momentum=float(train.momentum),
                           weight_decay=float(train.weight_decay))


def run_classification(request: TransferRequest, task: Task) -> dict:
    """Fine-tune (or linearly probe) the request's backbone on the task's ImageFolder; return
    results.json's dict (or a dry run's summary: config and backbone contract, no data read).

    Prepared as the toolbox tasks are (transfer.request): the same flags apply or are refused,
    the work dir is claimed (one holding a run is refused without --resume, same config only,
    or --overwrite), the backbone contract is the same check."""
    started = time.perf_counter()
    check_flags_apply(request, task)
    cfg = load_task_config(task.config, request.cfg_options, request.data_root)
    check_auto_scale_lr(request, cfg, task.config)  # no recipe batch stated here: refused
    recipe = classification_recipe_hash(cfg)
    dump_config(request, cfg, f"effective config of task {task.name}, seed {request.seed} (config hash {recipe})")
    backbone = load_task_backbone(request, cfg.arch)
    contract = {"loaded": [], "unexpected": []}
    if backbone.checkpoint is not None:
        contract = backbone_contract(request, backbone_view(build_classifier(cfg.arch, 2)).state_dict(),
                                     backbone.checkpoint, backbone.pretrain["path"])
    work_dir = request.work_dir_for(backbone.arm)

    def build(num_classes: int) -> nn.Module:
        with torch.random.fork_rng(devices=[]):  # the classifier's init: its own seeded stream
            torch.manual_seed(request.seed)
            net = build_classifier(cfg.arch, num_classes)
        if backbone.checkpoint is not None:
            # fc.* is new, and unexpected keys (--allow-unexpected-keys) have no module here;
            # the contract covers the rest, and the comparison below proves the load
            net.load_state_dict(backbone.checkpoint, strict=False)
            verify_backbone_equals(backbone_view(net), backbone.checkpoint, backbone.pretrain["path"])
        return net

    if request.dry_run:
        net = build(2)
        return {"dry_run": True, "task": task.name, "arm": backbone.arm, "seed": request.seed,
                "backbone": backbone.label, "arch": cfg.arch, "model": type(net).__name__,
                "num_params": sum(p.numel() for p in net.parameters()),
                "backbone_tensors_verified": len(contract["loaded"]),
                "unexpected_checkpoint_keys": contract["unexpected"], "protocol": protocol_record(cfg),
                "config_hash": recipe, "work_dir": str(work_dir)}

    record = {"task": task.name, "backbone": backbone.label, "seed": request.seed, "config": to_plain(cfg.to_dict())}
    claim(request, work_dir, record, write=False)  # before reading the data
    train_set, val_set = image_folders(cfg.data_root, int(cfg.image_size), cfg.mean, cfg.std)
    claim(request, work_dir, record)  # the data is fine: record, or clear
    net = build(len(train_set.classes))
    frozen = None
    if cfg.mode == "linear":
        frozen = {k: v.clone() for k, v in backbone_view(net).state_dict().items()}
        train_set, val_set = standardized_features(net, train_set, val_set, int(cfg.train.batch_size))
    metrics, history = _train(net, cfg, train_set, val_set, request.seed, work_dir, request.resume, task.name)
    notes = []
    if frozen is not None:
        verify_backbone_equals(backbone_view(net), frozen, "the backbone before the linear probe")
        notes.append("linear probe: backbone frozen (BatchNorm in eval mode); verified unchanged after training")
    results = TransferResults(
        task=task.name, arm=backbone.arm, seed=request.seed, backbone=backbone.label, pretrain=backbone.pretrain,
        metrics=metrics, protocol=protocol_record(cfg),
        backbone_contract={"tensors_loaded": len(contract["loaded"]), "unexpected_keys": contract["unexpected"]},
        notes=(*notes, f"classes: {len(train_set.classes)}, train {len(train_set)}, val {len(val_set)} images; "
                       f"val top-1 per epoch: {[round(h, 2) for h in history]}"),
        config_hash=recipe, versions=versions(), wall_clock_s=time.perf_counter() - started,
        work_dir=str(work_dir)).to_json()
    write_json_atomic(work_dir / RESULTS_FILE, results)
    return results


def standardized_features(net: nn.Module, train_set, val_set, batch_size: int) -> tuple:
    """The linear probe's (train, val) datasets: the frozen backbone's features of the centre
    crops, computed once, standardized with the training features' statistics."""
    train_set.transform = val_set.transform  # features of the centre crops, computed once
    train_set, val_set = (feature_dataset(net, data, batch_size) for data in (train_set, val_set))
    # standardized with the training features' statistics (MAE's linear probe: a BatchNorm
    # without affine before the classifier): SGD then converges at one lr whatever the
    # backbone's feature scale, so arms are compared on their features, not their scale
    mean, std = train_set.tensors[0].mean(0), train_set.tensors[0].std(0) + 1e-6
    for data in (train_set, val_set):
        data.tensors = ((data.tensors[0] - mean) / std, data.tensors[1])
    train_set.classes = val_set.classes = list(range(len(set(train_set.tensors[1].tolist()))))
    return train_set, val_set


@torch.no_grad()
def feature_dataset(net: nn.Module, dataset, batch_size: int) -> torch.utils.data.TensorDataset:
    """(pooled features, labels) of every image of `dataset` through `net`'s frozen backbone."""
    head, net.fc = net.fc, nn.Identity()
    net.eval()
    features, labels = [], []
    for images, targets in torch.utils.data.DataLoader(dataset, batch_size=batch_size):
        features.append(net(images))
        labels.append(targets)
    net.fc = head
    return torch.utils.data.TensorDataset(torch.cat(features), torch.cat(labels))


def _train(net: nn.Module, cfg: Config, train_set, val_set, seed: int, work_dir: Path, resume: bool,
           task: str = "finegrained") -> tuple[dict, list[float]]:
    """SGD or Adam (`train.optimizer`) over `train.epochs` (step decay at the milestones), a
    checkpoint after each epoch; return the final val metrics and the per-epoch val top-1. A
    non-finite loss (or weights) stops the run before its epoch's checkpoint, naming the epoch and
    iteration."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    net.to(device)
    linear = cfg.mode == "linear"  # then the datasets hold features: only net.fc sees them
    model = net.fc if linear else net
    trained = list(model.parameters())
    tc = cfg.train
    optimizer = build_optimizer(trained, tc)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, list(tc.milestones), float(tc.gamma))
    shuffle = torch.Generator().manual_seed(seed)
    workers = 0 if linear else int(tc.workers)  # features are in memory
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=int(tc.batch_size), shuffle=True,
                                               generator=shuffle, num_workers=workers, drop_last=False)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=int(tc.batch_size), num_workers=workers)
    start, history = 0, []
    work_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = work_dir / CHECKPOINT
    with torch.random.fork_rng(devices=[]):  # the crops and flips: a private stream, seeded
        torch.manual_seed(seed)
        if resume and checkpoint_path.is_file():
            state = safe_load(checkpoint_path, map_location=device)
            net.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            shuffle.set_state(state["shuffle"])
            torch.set_rng_state(state["rng"])
            start, history = state["epoch"], state["history"]
        loss_fn = nn.CrossEntropyLoss()
        for epoch in range(start, int(tc.epochs)):
            model.train()
            for i, (images, labels) in enumerate(train_loader, start=1):
                loss = loss_fn(model(images.to(device)), labels.to(device))
                # before backward: the weights this step would poison are still the last good ones
                check_finite_loss({"loss": float(loss)}, f"task {task}", f"epoch {epoch + 1}, iteration {i}",
                                  work_dir, NON_FINITE_ADVICE)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            scheduler.step()
            bad = [name for name, p in model.named_parameters() if not bool(torch.isfinite(p).all())]
            if bad:  # the epoch's last step overflowed: never checkpoint or evaluate such weights
                raise FloatingPointError(f"task {task}: non-finite weights {bad[:5]} after epoch {epoch + 1}; "
                                         f"checkpoints written so far in {work_dir} are intact ({NON_FINITE_ADVICE})")
            history.append(evaluate(model, val_loader, device)["top1"])
            save_torch_atomic(checkpoint_path, {
                "epoch": epoch + 1, "model": net.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "shuffle": shuffle.get_state(), "rng": torch.get_rng_state(),
                "history": history})
        metrics = evaluate(model, val_loader, device)
    net.cpu()
    return metrics, history
