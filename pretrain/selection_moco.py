"""Selection features learnt by MoCo v2 on the target (Chakraborty et al., unsupervised setting:
"we use MoCo-v2 on Pascal VOC to learn representations" for the clustering).

`feature_backbone="moco_v2"` (or `dict(name="moco_v2", epochs=..., ...)`) in a selection config
or `tools/select_subset.py --feature-backbone moco_v2` makes `pretrain.selection.select_subset`
score the source with the backbone of a MoCo v2 run on the target's training images (labels
unused) instead of a random-init or given network. The run is a plain loop over pretrain.moco's
MoCoV2 (two views with MoCo v2's augmentation, momentum key encoder, queue, InfoNCE), SGD with
the reference's per-epoch cosine schedule, at the selection's feature resolution, on one device
(no DDP: a target is small next to the source). Its cost is selection cost: the export's
`selection_cost` carries it (`feature_training`) and its FLOPs count in `flops` and `cost`,
since every method that reads these features needs the run.

Deterministic: the network and queue from `seed`, the batch order from (seed, epoch), each
view's augmentation from the dataset's (seed, epoch, index) stream. With `cache_dir` the trained
backbone is kept (keyed by settings, target and size), so the methods of one experiment train it
once; each record still carries the run's measured cost.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.files import atomic_path
from common.keys import check_keys
from common.provenance import config_hash
from pretrain.data import IMAGENET_MEAN, IMAGENET_STD, target_images
from pretrain.moco import FORWARD_PASSES, MOCO_V2, MoCoV2, TwoViews, moco_v2_transform
from pretrain.models import build_network, forward_flops
from pretrain.subset import sample_list_hash

# the published 200-epoch MoCo v2 recipe (main_moco.py --mlp --aug-plus --cos), on the
# selection's default feature network; a small target wants a smaller queue and batch, and lr
# scaled with the batch (at 10-30x the linearly scaled lr, 24-160 shapes collapsed to one
# direction: InfoNCE at ln(K + 1)). momentum: SGD's; key_momentum: the key encoder's m;
# workers: DataLoader processes
FEATURE_TRAINING_DEFAULTS = {"arch": "resnet18", "epochs": 200, "batch_size": 256, "lr": 0.03, "momentum": 0.9,
                             "weight_decay": 1e-4, "dim": 128, "queue_size": 65536, "key_momentum": 0.999,
                             "temperature": 0.2, "workers": 0}


def moco_feature_settings(feature_backbone) -> dict | None:
    """The MoCo v2 feature training `feature_backbone` asks for ("moco_v2" or dict(name="moco_v2",
    ...)), every key resolved; None for anything else (a path, "none", None)."""
    if isinstance(feature_backbone, str):
        return dict(FEATURE_TRAINING_DEFAULTS) if feature_backbone == MOCO_V2 else None
    if not isinstance(feature_backbone, dict):
        return None
    given = dict(feature_backbone)
    if given.pop("name", None) != MOCO_V2:
        raise ValueError(f"feature_backbone: a dict names the feature training, name='{MOCO_V2}'; got "
                         f"{feature_backbone!r}")
    check_keys(given, FEATURE_TRAINING_DEFAULTS, "feature_backbone")
    settings = {**FEATURE_TRAINING_DEFAULTS, **given}
    for key in ("epochs", "batch_size", "dim", "queue_size"):
        if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
            raise ValueError(f"feature_backbone.{key} must be a positive integer, got {settings[key]!r}")
    return settings


def train_moco_features(target_dir: str, settings: dict, image_size: int, seed: int) -> tuple[nn.Module, dict]:
    """(query backbone returning pooled features, in eval mode; the run's record: its work and
    wall-clock) of MoCo v2 on the images of `target_dir` (class folders or a VOCdevkit; labels unused)."""
    dataset = target_images(target_dir, TwoViews(moco_v2_transform(image_size, IMAGENET_MEAN, IMAGENET_STD)), seed)
    batch = min(int(settings["batch_size"]), len(dataset))
    if batch < 2:  # train-mode BatchNorm needs two samples
        raise ValueError(f"feature_backbone moco_v2: {target_dir} holds {len(dataset)} image(s); MoCo v2 needs 2")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MoCoV2(settings["arch"], dim=settings["dim"], queue_size=settings["queue_size"],
                       momentum=settings["key_momentum"], temperature=settings["temperature"], mlp=True,
                       shuffle_bn=False, seed=seed)
    flops_each = forward_flops(model.net, image_size)
    model.to(device).train()
    optimizer = torch.optim.SGD(model.net.parameters(), lr=settings["lr"], momentum=settings["momentum"],
                                weight_decay=settings["weight_decay"])
    steps_per_epoch = len(dataset) // batch  # the reference drops the last partial batch
    epoch_losses = []
    started = time.perf_counter()
    for epoch in range(settings["epochs"]):
        for group in optimizer.param_groups:  # the reference's --cos: per epoch
            group["lr"] = settings["lr"] * 0.5 * (1.0 + math.cos(math.pi * epoch / settings["epochs"]))
        order = np.random.default_rng([seed, epoch, 0x30C0]).permutation(len(dataset))
        batches = [[(int(i), epoch) for i in order[s * batch:(s + 1) * batch]] for s in range(steps_per_epoch)]
        loader = torch.utils.data.DataLoader(dataset, batch_sampler=batches, num_workers=settings["workers"])
        total = 0.0
        for items in loader:
            logits = model.contrast(items["inputs"].to(device))
            loss = F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
        epoch_losses.append(total / steps_per_epoch)
    seconds = time.perf_counter() - started
    samples = settings["epochs"] * steps_per_epoch * batch
    net = model.net.cpu()
    net.fc = nn.Identity()  # the pooled backbone features, as the other feature networks give
    record = {"objective": MOCO_V2, "settings": dict(settings), "image_size": int(image_size),
              "target_size": len(dataset), "steps": settings["epochs"] * steps_per_epoch, "samples": samples,
              "forwards": FORWARD_PASSES[MOCO_V2] * samples, "backwards": samples,
              "flops_per_forward": flops_each,
              # per trained sample: query and key forwards, the query's backward (≈ 2 forwards)
              "flops": (FORWARD_PASSES[MOCO_V2] + 2) * flops_each * samples,
              "wall_clock_s": round(seconds, 3),
              "epoch_losses": [round(v, 6) for v in epoch_losses]}
    return net.eval(), record


def moco_target_features(feature_backbone, target_dir: str, image_size: int, seed: int,
                         cache_dir: str | None = None) -> tuple[nn.Module, str, str, dict] | None:
    """(feature network, arch, description, training record) of MoCo v2 on the target when
    `feature_backbone` asks for it (read from / kept in `cache_dir`); None otherwise."""
    settings = moco_feature_settings(feature_backbone)
    if settings is None:
        return None
    target_hash = sample_list_hash(target_images(target_dir, None, seed))
    key = config_hash([settings, target_hash, int(image_size), int(seed)])
    described = f"MoCo v2 {settings['arch']} on the target ({settings['epochs']} epochs at {image_size} px, " \
                f"seed {seed}, run {key})"
    cache = Path(cache_dir) / f"moco_v2_features_{key}.pth" if cache_dir else None
    if cache is not None and cache.is_file():
        stored = torch.load(cache, weights_only=True)
        net = build_network(settings["arch"], settings["dim"])
        net.fc = nn.Identity()
        net.load_state_dict(stored["state_dict"])
        return net.eval(), settings["arch"], described, stored["record"]
    net, record = train_moco_features(target_dir, settings, image_size, seed)
    if cache is not None:
        with atomic_path(cache) as tmp:
            torch.save({"state_dict": net.state_dict(), "record": record}, tmp)
    return net, settings["arch"], described, record
