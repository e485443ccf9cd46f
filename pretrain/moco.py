"""MoCo v2 (Chen et al. 2020, on He et al.'s MoCo): the self-supervised pretraining objective.

`objective=dict(name="moco_v2", ...)` in a pretraining config trains the arch's network as the
query encoder of MoCo v2 instead of a classifier; every sampling method runs on it unchanged,
because the per-sample loss the TrainingLoss hands to the method is each image's InfoNCE loss
of the training pass (the reference's logits `[q·k+, q·queue] / T` with target 0, i.e.
cross-entropy per sample). What it is, as facebookresearch/moco (moco/builder.py, main_moco.py
with --mlp --aug-plus --cos) defines it:

  two views per image      MoCo v2's augmentation (`moco_v2_transform`): random-resized crop
                           (20-100% area), colour jitter (0.4, 0.4, 0.4, 0.1) with p 0.8,
                           grayscale p 0.2, Gaussian blur σ ∈ [0.1, 2.0] with p 0.5, flip
  query encoder            the config's arch (torchvision layout), its `fc` replaced by the MLP
                           head Linear(d, d) → ReLU → Linear(d, dim) (`head_bn`: a BatchNorm1d
                           after the first Linear, see below); exported without `fc.*`,
                           so the backbone is in the same layout as a supervised export
  key encoder              a copy, updated by momentum m before each key forward, never by
                           gradient; in train mode (its BN uses batch statistics) as the reference
  queue                    `queue_size` L2-normalized keys (dim × K), random at the start,
                           the newest batch's keys enqueued after each training forward
  loss                     InfoNCE with temperature 0.2 over 1 positive and K negatives
  hyper-parameters         the 200-epoch ImageNet preset (configs/pretrain/
                           resnet50_imagenet_200e_moco_v2.py): batch 256, lr 0.03, SGD momentum
                           0.9, weight decay 1e-4, cosine schedule, dim 128, K 65536, m 0.999

Where this differs from the reference, and why:
  * the queue is a ring buffer that takes any number of keys (the reference asserts
    K % batch == 0): an in-batch method (selective_backprop, ...) back-propagates and enqueues
    only the samples it chose, and a last partial batch enqueues what it has;
  * the momentum update and the enqueue happen only in a training-mode forward: the scoring
    pass of an in-batch method (TrainingLoss: no gradient, eval mode) computes InfoNCE with the
    encoders' running statistics and leaves key encoder and queue untouched;
  * shuffle-BN (`shuffle_bn=True`) is the reference's under DDP: keys' images are gathered from
    every process, permuted, encoded, and un-permuted; the permutation comes from a generator
    seeded by (seed, step) on every process, not broadcast from rank 0 (the same permutation,
    and a resumed run draws the same ones). In one process there is nothing to shuffle across
    (BN of one process sees the whole batch either way); the reference refuses to run without
    DDP. Ranks may hold different numbers of samples (in-batch selection): the gather pads.
  * `head_bn` (default False: the reference's head, Linear → ReLU → Linear): BatchNorm1d after
    the head's hidden Linear, as in SimCLR's and MoCo v3's heads. Tried on the tiny CPU
    preset: with the reference's head, ReLU-pooled features that are all alike at initialization give a
    hidden layer with one component common to every image; the InfoNCE gradient (orthogonal to
    each embedding) grows that component instead of removing it, so every embedding ends up
    pointing the same way (measured at lr 0.06, queue 256, momentum 0.9: pairwise cosine 0.996 →
    1.000 and head output norm ×8 within 30 steps) and the loss climbs to ln(K + 1). Centring
    the hidden layer over the batch removes that component (the loss no longer rises), but the
    tiny preset's kNN monitor stayed below random init's, so it keeps the reference's head.
    See docs/results.md (*Self-supervised pretraining (MoCo v2) at CPU scale*) for the runs.
  * Gaussian blur: torchvision's GaussianBlur (kernel ≈ 10% of the image, SimCLR's) instead of
    PIL's ImageFilter, with σ scaled by image_size / 224 (at 224 px: the reference's [0.1, 2.0]);
    at 48 px the reference's σ of 2 px would erase the shapes.
  * validation: the reference has none during pretraining. Here a leave-one-out weighted kNN
    (k 20, temperature 0.07, InstDisc's monitor) on the validation set's backbone features,
    reported as `knn_top1`; `top1`/`top5` of the export stay None (no classifier).
"""

from __future__ import annotations

import copy

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
import torchvision.transforms as T
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch import nn

from common.keys import check_keys
from common.vocab import BN
from pretrain.training_loss import TrainingLoss

SUPERVISED = "supervised"
MOCO_V2 = "moco_v2"
OBJECTIVES = (SUPERVISED, MOCO_V2)
MOCO_DEFAULTS = {"dim": 128, "queue_size": 65536, "momentum": 0.999, "temperature": 0.2, "mlp": True,
                 "shuffle_bn": True, "head_bn": False}
# encoder forwards per trained sample: the objective's i.i.d. step is (passes + 2) forward-equivalents
FORWARD_PASSES = {SUPERVISED: 1, MOCO_V2: 2}
KNN_K, KNN_TEMPERATURE = 20, 0.07


def objective_settings(cfg: dict) -> dict:
    """The config's `objective` as a dict with every parameter (default: supervised); unknown
    names, keys or values are errors naming them."""
    given = cfg.get("objective", SUPERVISED)
    given = dict(name=given) if isinstance(given, str) else dict(given)
    name = given.pop("name", None)
    if name not in OBJECTIVES:
        raise ValueError(f"objective.name must be one of {OBJECTIVES}, got {name!r}")
    if name == SUPERVISED:
        check_keys(given, (), "objective")
        return {"name": SUPERVISED}
    check_keys(given, MOCO_DEFAULTS, "objective")
    settings = {"name": name, **MOCO_DEFAULTS, **given}
    for key in ("dim", "queue_size"):
        if isinstance(settings[key], bool) or not isinstance(settings[key], int) or settings[key] < 1:
            raise ValueError(f"objective.{key} must be a positive integer, got {settings[key]!r}")
    if not 0.0 <= float(settings["momentum"]) < 1.0:
        raise ValueError(f"objective.momentum must be in [0, 1), got {settings['momentum']!r}")
    if not float(settings["temperature"]) > 0:
        raise ValueError(f"objective.temperature must be > 0, got {settings['temperature']!r}")
    if settings["head_bn"] and not settings["mlp"]:
        raise ValueError("objective.head_bn=True normalizes the MLP head's hidden layer; it needs objective.mlp=True")
    return settings


def moco_v2_transform(image_size: int, mean, std):
    """MoCo v2's augmentation ("aug-plus") at `image_size`; see the module doc for the blur."""
    scale = image_size / 224
    kernel = max(3, int(0.1 * image_size) // 2 * 2 + 1)  # odd, ≈ 10% of the image
    return T.Compose([
        T.RandomResizedCrop(image_size, scale=(0.2, 1.0)),
        T.RandomApply([T.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
        T.RandomGrayscale(p=0.2),
        T.RandomApply([T.GaussianBlur(kernel, sigma=(0.1 * scale, 2.0 * scale))], p=0.5),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize(mean, std),
    ])


class TwoViews:
    """Two independent draws of `transform`, stacked (2 × C × H × W): query view, key view."""

    def __init__(self, transform):
        self.transform = transform

    def __call__(self, image):
        return torch.stack([self.transform(image), self.transform(image)])


def use_two_views(train_set, image_size: int) -> None:
    """Make `train_set` (or the base set of a subset view) return MoCo v2's two views; its
    per-(seed, epoch, index) augmentation stream is kept (pretrain.data), so resume is exact."""
    base = getattr(train_set, "base", train_set)
    norm = train_set.normalization
    base.transform = TwoViews(moco_v2_transform(image_size, [m / 255 for m in norm["mean"]],
                                                [s / 255 for s in norm["std"]]))


def _world() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


@torch.no_grad()
def gather_all(x: torch.Tensor, sizes: list[int] | None = None) -> list[torch.Tensor]:
    """Every process's `x` (first dimensions may differ: padded for all_gather, then trimmed).

    `sizes`: every process's first dimension when the caller knows them (no exchange); else
    they are all-gathered first. Every process makes the same collectives with tensors of the
    same shape whatever its share, so uneven shares cannot desynchronize the group."""
    if _world() == 1:
        return [x]
    if sizes is None:
        counts = [torch.zeros(1, dtype=torch.long) for _ in range(_world())]
        dist.all_gather(counts, torch.tensor([x.shape[0]], dtype=torch.long))
        sizes = [int(c) for c in counts]
    if len(sizes) != _world() or sizes[dist.get_rank()] != x.shape[0]:
        raise ValueError(f"gather_all: this process holds {x.shape[0]} rows, the shares say {sizes}")
    padded = torch.zeros((max(sizes), *x.shape[1:]), dtype=x.dtype, device=x.device)
    padded[:x.shape[0]] = x
    out = [torch.empty_like(padded) for _ in sizes]
    dist.all_gather(out, padded)
    return [o[:n] for o, n in zip(out, sizes, strict=True)]


class MoCoV2(BaseModel):
    """The mmengine model of a MoCo v2 run: query encoder `net`, key encoder `key_net`, queue.

    `net` keeps the name a Classifier's network has: the hook's export and
    pretrain.hook.export_checkpoint read `net.*`, and strip `fc.*` (the MLP head).
    """

    def __init__(self, arch: str, loss: TrainingLoss | None = None, norm: str = BN, dim: int = 128,
                 queue_size: int = 65536, momentum: float = 0.999, temperature: float = 0.2, mlp: bool = True,
                 shuffle_bn: bool = True, head_bn: bool = False, seed: int = 0):
        from pretrain.models import build_network

        super().__init__()
        self.arch = arch
        self.net = build_network(arch, dim, norm)
        if not isinstance(getattr(self.net, "fc", None), nn.Linear):
            raise ValueError(f"objective moco_v2 replaces the classifier `fc` by its projection head; arch {arch} "
                             "has no `fc` (use a ResNet or mobilenet_v1)")
        if head_bn and not mlp:
            raise ValueError("head_bn=True normalizes the MLP head's hidden layer; it needs mlp=True")
        if mlp:  # MoCo v2's head: fc becomes Linear(d, d) → ReLU → fc (the reference's "brute-force replacement")
            width = self.net.fc.weight.shape[1]
            hidden = [nn.Linear(width, width)] + ([nn.BatchNorm1d(width)] if head_bn else []) + [nn.ReLU()]
            self.net.fc = nn.Sequential(*hidden, self.net.fc)
        self.key_net = copy.deepcopy(self.net)  # the reference's initialization: a copy of the query encoder
        for param in self.key_net.parameters():
            param.requires_grad = False  # updated by momentum only
        self.register_buffer("queue", F.normalize(torch.randn(dim, queue_size), dim=0))
        self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))
        self.register_buffer("steps", torch.zeros(1, dtype=torch.long))  # shuffle-BN's permutation stream
        self.momentum, self.temperature = float(momentum), float(temperature)
        self.shuffle_bn, self.seed = bool(shuffle_bn), int(seed)
        self.loss = loss if loss is not None else TrainingLoss()
        # the callable TrainingLoss trains through (views → InfoNCE logits, target 0); not a
        # submodule, so the state dict's keys stay net.*, key_net.*, queue*
        object.__setattr__(self, "contrast", _Contrast(self))

    def forward(self, inputs, label=None, index=None, mode="tensor"):
        if mode == "loss":
            target = torch.zeros(inputs.shape[0], dtype=torch.long, device=inputs.device)
            return {"loss": self.loss(self.contrast, inputs, target, index)}
        features = self.features(inputs)
        if mode == "tensor":
            return features
        if mode == "predict":
            return [{"features": features.detach(), "label": label}]
        raise ValueError(f"unknown mode {mode!r}")

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The query backbone's pooled features (the input of the head)."""
        captured = []
        handle = self.net.fc.register_forward_pre_hook(lambda module, args: captured.append(args[0]))
        try:
            self.net(images)
        finally:
            handle.remove()
        return captured[0]

    @torch.no_grad()
    def momentum_update(self) -> None:
        for param_q, param_k in zip(self.net.parameters(), self.key_net.parameters(), strict=True):
            param_k.mul_(self.momentum).add_(param_q.detach(), alpha=1.0 - self.momentum)

    @torch.no_grad()
    def encode_keys(self, images: torch.Tensor) -> torch.Tensor:
        """L2-normalized keys; under DDP with shuffle_bn, through the reference's batch shuffle."""
        if not (self.shuffle_bn and self.training and _world() > 1):
            return F.normalize(self.key_net(images), dim=1)
        parts = gather_all(images)
        sizes = [len(p) for p in parts]
        everything = torch.cat(parts)
        generator = torch.Generator().manual_seed(int(np.random.SeedSequence(
            [self.seed, int(self.steps), 0x5B]).generate_state(1)[0]))
        shuffle = torch.randperm(len(everything), generator=generator).to(images.device)
        rank = dist.get_rank()
        start = sum(sizes[:rank])
        mine = shuffle[start:start + sizes[rank]]  # this process encodes these (its own count)
        keys = F.normalize(self.key_net(everything[mine]), dim=1)
        gathered = torch.cat(gather_all(keys, sizes))  # keys of everything[shuffle]; shares known
        unshuffled = torch.empty_like(gathered)
        unshuffled[shuffle] = gathered
        return unshuffled[start:start + sizes[rank]]

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor) -> None:
        keys = torch.cat(gather_all(keys))  # every process's: the queues stay identical
        size = self.queue.shape[1]
        keys = keys[-size:]
        ptr = int(self.queue_ptr)
        slots = (ptr + torch.arange(len(keys), device=keys.device)) % size
        self.queue[:, slots] = keys.T.to(self.queue.dtype)
        self.queue_ptr[0] = (ptr + len(keys)) % size


class _Contrast:
    """views (B × 2 × C × H × W) → logits B × (1 + K) of InfoNCE, positives in column 0.

    Looks like a module to TrainingLoss (`training`, `eval()`, `train()`); a training-mode
    call makes MoCo's side effects (momentum update, enqueue), an eval-mode call none."""

    def __init__(self, model: MoCoV2):
        self.model = model

    @property
    def training(self) -> bool:
        return self.model.training

    def eval(self):
        self.model.eval()
        return self

    def train(self, mode: bool = True):
        self.model.train(mode)
        return self

    def __call__(self, views: torch.Tensor) -> torch.Tensor:
        model = self.model
        if views.dim() != 5 or views.shape[1] != 2:
            raise ValueError(f"moco_v2 trains on two views per image (B × 2 × C × H × W), got {tuple(views.shape)}")
        q = F.normalize(model.net(views[:, 0]), dim=1)
        with torch.no_grad():
            if model.training:
                model.momentum_update()
            k = model.encode_keys(views[:, 1])
        positive = (q * k.to(q.dtype)).sum(dim=1, keepdim=True)
        negative = q @ model.queue.clone().detach().to(q.dtype)
        logits = torch.cat([positive, negative], dim=1) / model.temperature
        if model.training:
            model.enqueue(k.float())
            model.steps += 1
        return logits


class KNNAccuracy(BaseMetric):
    """Leave-one-out weighted kNN top-1 (percent) on the validation set's features: each image
    is classified by its KNN_K most cosine-similar other images, votes weighted by
    exp(similarity / KNN_TEMPERATURE) (Wu et al.'s InstDisc monitor, without a train-set bank)."""

    default_prefix = None

    def process(self, data_batch, data_samples) -> None:
        for s in data_samples:
            for feature, label in zip(s["features"].float().cpu(), torch.as_tensor(s["label"]).cpu(), strict=True):
                self.results.append((feature, int(label)))

    def compute_metrics(self, results) -> dict:
        features = F.normalize(torch.stack([r[0] for r in results]), dim=1)
        labels = torch.tensor([r[1] for r in results])
        return {"knn_top1": knn_leave_one_out(features, labels)}


def knn_leave_one_out(features: torch.Tensor, labels: torch.Tensor, k: int = KNN_K,
                      temperature: float = KNN_TEMPERATURE, chunk: int = 1024) -> float:
    """Top-1 in percent of the leave-one-out weighted kNN over L2-normalized `features`."""
    n = len(labels)
    if n < 2:
        return float("nan")
    k = min(k, n - 1)
    classes = int(labels.max()) + 1
    hits = 0
    for start in range(0, n, chunk):
        sim = features[start:start + chunk] @ features.T
        rows = torch.arange(sim.shape[0])
        sim[rows, rows + start] = -float("inf")  # not its own neighbour
        top, idx = sim.topk(k, dim=1)
        votes = torch.zeros(sim.shape[0], classes).scatter_add_(1, labels[idx], (top / temperature).exp())
        hits += int((votes.argmax(dim=1) == labels[start:start + chunk]).sum())
    return 100.0 * hits / n
