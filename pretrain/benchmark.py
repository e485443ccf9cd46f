"""Benchmark of stage 1's training loop, side by side in one process (our machines are noisy).

For each method, the real training loop runs: the mmengine Runner built by pretrain.trainer
from the method's tiny preset, with its MethodHook, TrainingLoss and sampler. A timing hook
records every training epoch (data loading, forward, backward, step, every hook's per-iteration
work and the method's epoch-end decision; validation and checkpoints excluded) and, around the
method's own bookkeeping (the hook's per-iteration recording and epoch-end work, the
TrainingLoss's weighting and in-batch selection), the time it takes. During the i.i.d. run, a
plain PyTorch epoch (same network, the same dataset object, batch size, optimizer settings and
thread count, no mmengine) runs after every suite epoch, so the two alternate.

Reported, with the first epoch of every run left out (allocator and kernel warm-up):
  bookkeeping share   the method's directly timed bookkeeping / its training-loop time
                      (targets: <= 1% for epoch-level methods, <= 3% for in-batch selection)
  realized/nominal    for subset methods: (1 − Σ epoch times / (epochs × full-epoch time)) /
                      (1 − mean kept fraction), the full-epoch time being the median of that
                      run's full epochs (target >= 0.97)
  suite_over_plain    images/s of the suite's i.i.d. loop / images/s of the plain loop,
                      medians over the interleaved epochs (goal >= 0.97)
  fixed per epoch     for subset methods: the intercept of epoch seconds against images per
                      epoch (least squares), i.e. what an epoch costs whatever its size, as a
                      share of a full epoch (realized/nominal ≈ 1 − that share); beside it the
                      median time per epoch outside the iterations' data and compute
                      (common.timing: the loader's start, epoch-end hooks)
"""

from __future__ import annotations

import contextlib
import io
import statistics
import tempfile
import time

import torch
from mmengine.hooks import Hook

from common.provenance import REPO_ROOT
from common.timing import LoopTimerHook
from common.vocab import IID
from pretrain.config import load_config, train_settings
from pretrain.hook import MethodHook
from pretrain.methods import available_methods, get_method
from pretrain.models import build_network
from pretrain.trainer import _collate, build_runner

CONFIGS = REPO_ROOT / "configs" / "pretrain"
# The drop rule of the benchmark's 10 epochs: kept 1, 1, 1, 0.5, 0.25, 0.25, 1, 0.5, 0.25, 0.25
# (dap: no refresh). Halving gives whole batches on 1024 samples and savings large enough to
# measure on a noisy machine (epoch-to-epoch noise is a few %).
BENCH_DROP = dict(warmup=2, interval=1, keep=0.5, active=3, refresh=[6])


class _Timer:
    """Accumulates the time spent in wrapped callables."""

    def __init__(self):
        self.seconds = 0.0

    def wrap(self, fn):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return timed


class EpochTimer(Hook):
    """Times every training epoch; optionally runs `between` (the plain epoch) after each."""

    priority = "LOW"  # after MethodHook's epoch-end work (NORMAL), before CheckpointHook

    def __init__(self, bookkeeping: _Timer, between=None):
        self.bookkeeping = bookkeeping
        self.between = between
        self.epochs: list[dict] = []
        self._start = 0.0
        self._book0 = 0.0

    def before_train_epoch(self, runner) -> None:
        self._book0 = self.bookkeeping.seconds
        self._start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        seconds = time.perf_counter() - self._start
        hook = next(h for h in runner.hooks if isinstance(h, MethodHook))
        row = hook.history[-1]
        self.epochs.append({"seconds": seconds, "bookkeeping": self.bookkeeping.seconds - self._book0,
                            "images": row["forwards"], "fraction": row["fraction"]})
        if self.between is not None:
            self.between()


def plain_epoch(net, optimizer, dataset, batch_size: int, epoch: int) -> tuple[float, int]:
    """One epoch of a plain PyTorch loop over `dataset`; (seconds, images)."""
    generator = torch.Generator().manual_seed(epoch)
    order = torch.randperm(len(dataset), generator=generator).tolist()
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, sampler=[(i, epoch) for i in order],
                                         collate_fn=_collate)
    images = 0
    start = time.perf_counter()
    for batch in loader:
        loss = torch.nn.functional.cross_entropy(net(batch["inputs"]), batch["label"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        images += len(batch["label"])
    return time.perf_counter() - start, images


def benchmark_methods() -> list[str]:
    """Every method of the registry (pretrain.methods, $TRANSFER_SUITE_METHODS included), in
    table order: a new method's file is all it takes to be benchmarked."""
    return sorted(available_methods(), key=lambda name: (get_method(name).order, name))


def _config(method: str, samples: int, image_size: int, epochs: int, batch_size: int, arch: str):
    """The method's tiny preset (configs/pretrain/resnet18_shapes_tiny_<method>.py), else the
    i.i.d. one with arm=dict(name=<method>) (its defaults), shrunk to the benchmark's size."""
    preset = CONFIGS / f"resnet18_shapes_tiny_{method}.py"
    options = {"arch": arch, "data.num_train": samples, "data.num_val": 16, "data.image_size": image_size,
               "train.epochs": epochs, "train.batch_size": batch_size, "train.milestones": [epochs - 1],
               "val_interval": epochs + 1, "checkpoint_interval": epochs + 1, "log_interval": 10**6}
    if not preset.is_file():  # the i.i.d. preset's arm is dict(name="iid"): the method's defaults
        preset, options["arm.name"] = CONFIGS / f"resnet18_shapes_tiny_{IID}.py", method
    cfg = load_config(str(preset), options)
    if cfg["arm"]["name"] in ("dar", "dap", "random_drop"):
        cfg.merge_from_dict({"arm": {**BENCH_DROP, "refresh": [] if method == "dap" else BENCH_DROP["refresh"]}})
    return cfg


def bench_method(method: str, samples: int, image_size: int, epochs: int, batch_size: int, arch: str,
                 with_plain: bool = False) -> dict:
    """Train one method's tiny preset through the Runner; per-epoch times (and plain epochs)."""
    cfg = _config(method, samples, image_size, epochs, batch_size, arch)
    # the Runner's console log would drown the report: it goes to a buffer (and the work dir)
    with tempfile.TemporaryDirectory() as work_dir, contextlib.redirect_stdout(io.StringIO()):
        runner = build_runner(cfg, work_dir)
        hook = next(h for h in runner.hooks if isinstance(h, MethodHook))
        bookkeeping = _Timer()
        hook.after_train_iter = bookkeeping.wrap(hook.after_train_iter)
        hook.after_train_epoch = bookkeeping.wrap(hook.after_train_epoch)
        hook.loss._reduce = bookkeeping.wrap(hook.loss._reduce)
        hook.method.select_in_batch = bookkeeping.wrap(hook.method.select_in_batch)
        plain = []
        between = None
        if with_plain:
            train_set = runner.train_dataloader.dataset
            torch.manual_seed(0)
            net = build_network(cfg["arch"], train_set.num_classes).train()
            t = train_settings(cfg["train"])
            optimizer = torch.optim.SGD(net.parameters(), lr=t["lr"], momentum=t["momentum"],
                                        weight_decay=t["weight_decay"])

            def between():
                plain.append(plain_epoch(net, optimizer, train_set, batch_size, len(plain)))
        timer = EpochTimer(bookkeeping, between)
        runner.register_hook(timer)
        runner.train()
        loop = next(h for h in runner.hooks if isinstance(h, LoopTimerHook)).record["epochs"]
    return {"method": method, "epochs": timer.epochs, "plain": plain, "cost": hook.cost(), "loop": loop}


def fixed_per_epoch(seconds: list[float], images: list[int]) -> float | None:
    """The intercept of seconds = fixed + per_image × images (least squares); None when every
    epoch has the same size (no slope to separate it from)."""
    if len(set(images)) < 2:
        return None
    mean_x, mean_y = statistics.fmean(images), statistics.fmean(seconds)
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in zip(images, seconds, strict=True))
             / sum((x - mean_x) ** 2 for x in images))
    return mean_y - slope * mean_x


def summarize(run: dict) -> dict:
    """The reported figures of one method's run (first epoch left out)."""
    epochs = run["epochs"][1:]
    loop = sum(e["seconds"] for e in epochs)
    out = {"method": run["method"], "cost": run["cost"],
           "bookkeeping_share": sum(e["bookkeeping"] for e in epochs) / loop,
           "images_per_s": statistics.median(e["images"] / e["seconds"] for e in epochs)}
    full = [e["seconds"] for e in epochs if e["fraction"] == 1.0]
    if len(full) < len(epochs) and full:
        fractions = [e["fraction"] for e in epochs]
        realized = 1 - loop / (len(epochs) * statistics.median(full))
        nominal = 1 - sum(fractions) / len(fractions)
        out["realized_over_nominal_saving"] = realized / nominal
        fixed = fixed_per_epoch([e["seconds"] for e in epochs], [e["images"] for e in epochs])
        if fixed is not None:
            out["fixed_per_epoch_s"] = fixed
            out["fixed_share_of_full_epoch"] = fixed / statistics.median(full)
        if run.get("loop"):
            out["outside_iters_s"] = statistics.median(e["outside_iters_s"] for e in run["loop"][1:])
            out["data_share"] = (sum(e["data_s"] for e in run["loop"][1:])
                                 / sum(e["seconds"] for e in run["loop"][1:]))
    if run["plain"]:
        plain = [images / seconds for seconds, images in run["plain"][1:]]
        out["plain_images_per_s"] = statistics.median(plain)
        out["suite_over_plain"] = out["images_per_s"] / out["plain_images_per_s"]
    return out


def run_benchmark(methods=None, samples: int = 1024, image_size: int = 32, epochs: int = 10,
                  batch_size: int = 64, arch: str = "resnet18", log=print) -> dict:
    """Every method's run (default: benchmark_methods()), then the figures; `log` gets one
    progress line per method."""
    results = []
    for method in methods or benchmark_methods():
        start = time.perf_counter()
        run = bench_method(method, samples, image_size, epochs, batch_size, arch, with_plain=method == IID)
        results.append(summarize(run))
        log(f"{method}: {time.perf_counter() - start:.0f} s")
    summary = {"arch": arch, "samples": samples, "image_size": image_size, "batch_size": batch_size,
               "epochs": epochs, "threads": torch.get_num_threads(), "methods": results}
    iid = next((r for r in results if "suite_over_plain" in r), None)
    if iid is not None:
        summary["suite_over_plain"] = iid["suite_over_plain"]
    return summary


def format_report(summary: dict) -> str:
    lines = [f"{summary['arch']}, {summary['samples']} synthetic images of {summary['image_size']} px, batch "
             f"{summary['batch_size']}, {summary['threads']} threads, {summary['epochs']} epochs per method "
             "(the first left out)",
             f"{'method':<20} {'cost':>6} {'images/s':>9} {'bookkeeping':>12} {'realized/nominal':>17} "
             f"{'fixed/epoch':>12} {'outside iters':>14}"]
    for r in summary["methods"]:
        saving = r.get("realized_over_nominal_saving")
        fixed = (f"{1000 * r['fixed_per_epoch_s']:.0f} ms {100 * r['fixed_share_of_full_epoch']:.1f}%"
                 if "fixed_per_epoch_s" in r else "")
        outside = f"{1000 * r['outside_iters_s']:.0f} ms" if "outside_iters_s" in r else ""
        lines.append(f"{r['method']:<20} {100 * r['cost']:>5.1f}% {r['images_per_s']:>9.0f} "
                     f"{100 * r['bookkeeping_share']:>11.2f}% {'' if saving is None else f'{saving:.3f}':>17} "
                     f"{fixed:>12} {outside:>14}")
    if "suite_over_plain" in summary:
        iid = next(r for r in summary["methods"] if "suite_over_plain" in r)
        lines.append(f"suite (Runner + hook + method, i.i.d.) {iid['images_per_s']:.0f} images/s vs plain "
                     f"PyTorch loop {iid['plain_images_per_s']:.0f} images/s: suite_over_plain "
                     f"{summary['suite_over_plain']:.3f} (goal >= 0.97)")
    lines.append("targets: bookkeeping <= 1% (epoch-level methods), <= 3% (in-batch selection); "
                 "realized/nominal saving >= 0.97. fixed/epoch: what an epoch costs whatever its size (share of a "
                 "full epoch); outside iters: median time per epoch outside the iterations. images/s counts "
                 "sample-forwards (an in-batch method's scoring pass included)")
    return "\n".join(lines)


def moco_step_ratio(arch: str = "resnet18", image_size: int = 32, batch_size: int = 64, steps: int = 10,
                    queue_size: int = 4096) -> dict:
    """Seconds of one MoCo v2 training step vs one supervised step on the same batch, measured
    side by side (the two alternate, medians over `steps` after one warm-up step each).

    Supervised: cross-entropy forward, backward and SGD step of the classifier. MoCo v2: the
    query forward (with the MLP head), the momentum update and forward of the key encoder (no
    backward), the InfoNCE against `queue_size` negatives and the enqueue, then backward and
    step; both through their TrainingLoss, as in a run. The batch's second view is its mirror
    image (data loading and augmentation are not timed). Expected: about 2.3-3x (twice the
    forwards, one backward)."""
    from pretrain.moco import MoCoV2
    from pretrain.models import Classifier
    from pretrain.training_loss import TrainingLoss

    torch.manual_seed(0)
    images = torch.randn(batch_size, 3, image_size, image_size)
    labels = torch.randint(0, 10, (batch_size,))
    index = torch.arange(batch_size)
    views = torch.stack([images, images.flip(3)], dim=1)
    models = {"supervised": (Classifier(arch, 10, TrainingLoss()), images, labels),
              "moco_v2": (MoCoV2(arch, TrainingLoss(forward_passes=2), queue_size=queue_size), views, labels)}
    optimizers = {name: torch.optim.SGD([p for p in m.parameters() if p.requires_grad], lr=0.01, momentum=0.9)
                  for name, (m, _, _) in models.items()}
    times = {name: [] for name in models}
    for step in range(steps + 1):
        for name, (model, inputs, target) in models.items():
            model.train()
            start = time.perf_counter()
            loss = model(inputs, target, index, mode="loss")["loss"]
            optimizers[name].zero_grad(set_to_none=True)
            loss.backward()
            optimizers[name].step()
            model.loss.pop()
            if step:  # the first step of each warms allocator and kernels up
                times[name].append(time.perf_counter() - start)
    supervised, moco = statistics.median(times["supervised"]), statistics.median(times["moco_v2"])
    return {"arch": arch, "image_size": image_size, "batch_size": batch_size, "steps": steps,
            "queue_size": queue_size, "threads": torch.get_num_threads(), "supervised_step_s": supervised,
            "moco_v2_step_s": moco, "moco_over_supervised": moco / supervised}


def format_moco_ratio(result: dict) -> str:
    return (f"{result['arch']}, batch {result['batch_size']} of {result['image_size']} px, {result['threads']} "
            f"threads, median of {result['steps']} alternating steps: supervised "
            f"{1000 * result['supervised_step_s']:.0f} ms, MoCo v2 (queue {result['queue_size']}) "
            f"{1000 * result['moco_v2_step_s']:.0f} ms per step: "
            f"moco_over_supervised {result['moco_over_supervised']:.2f} (expected about 2.3-3: two views' forwards, "
            "the key encoder's without backward)")

