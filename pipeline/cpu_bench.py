"""A CPU speed probe of the demo's work (`tools/bench_cpu.py`), ratios measured side by side.

Two parts:

steps        one training step (forward, backward, optimizer step) of the demo's ResNet-18
             (48 px, batch 64, the pretraining) and of each tiny task's model on a batch of the
             demo's generated data (the transfer cells: the toolbox's own `train_step`), in
             four configurations: 2 or 1 threads × contiguous (NCHW) or channels_last (NHWC)
             memory; and two processes at once, one thread each. Every model lives in two
             worker processes built once; the parent then cycles through the configurations
             in rounds (one alone-2-threads block, one alone-1-thread block, one block with both
             workers stepping at the same time, ...), so that a machine's load drifting affects
             all of them alike. Reported: median seconds per step, and the ratios.
fixed costs  one real transfer cell per tiny task (`transfer.run.run_transfer`, random init, the
             demo's data, a few iterations) in a fresh process, its results.json `timing`:
             imports, config/backbone checks, data checks, Runner construction and set-up,
             training per iteration, test inference and the metric; and the pretraining cell's
             start-up (the synthetic set's generation, the model), from one short epoch.

The workers speak JSON lines over stdin/stdout; whatever the toolboxes print goes to stderr.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEMO_EXPERIMENT = "configs/experiments/demo.py"
RESNET = "resnet18_demo"  # the demo's pretraining network: ResNet-18, 48 px, batch 64
TINY_TASKS = ("fpn_tiny", "mask_rcnn_tiny", "pspnet_tiny", "simplebaseline_tiny")
# The detectors again with mmcv's RoIAlign kernel instead of the configs' MatmulRoIAlign
# (transfer/roi_align.py): the same function, so the ratio of the two rows is the layer's gain.
MMCV_ROI_ALIGN = {
    "fpn_tiny:mmcv_roialign": ("fpn_tiny", {"model.roi_head.bbox_roi_extractor.roi_layer.type": "RoIAlign"}),
    "mask_rcnn_tiny:mmcv_roialign": ("mask_rcnn_tiny", {
        "model.roi_head.bbox_roi_extractor.roi_layer.type": "RoIAlign",
        "model.roi_head.mask_roi_extractor.roi_layer.type": "RoIAlign"}),
}
MODELS = (RESNET, *TINY_TASKS, *MMCV_ROI_ALIGN)
FORMATS = ("contiguous", "channels_last")


# ----------------------------------------------------------------------------- one model's step

def _memory_format(name: str):
    import torch

    return {"contiguous": torch.contiguous_format, "channels_last": torch.channels_last}[name]


def demo_data(root: Path) -> dict[str, Path]:
    """The demo's generated downstream data (as configs/experiments/demo.py sets it) under
    `root`: {"coco": path, "cityscapes": path}. Generated once; idempotent."""
    from common.provenance import REPO_ROOT
    from pipeline.experiment import load_experiment
    from transfer.synthetic import make_cityscapes_scenes, make_coco_scenes

    settings = load_experiment(str(REPO_ROOT / DEMO_EXPERIMENT))["demo_data"]
    make_coco_scenes(root / "coco", **dict(settings["coco"]))
    make_cityscapes_scenes(root / "cityscapes", **dict(settings["cityscapes"]))
    return {"coco": root / "coco", "cityscapes": root / "cityscapes"}


def data_kind(task: str) -> str:
    from transfer.tasks import get_task

    return "cityscapes" if get_task(task).family == "semantic_segmentation" else "coco"


def demo_task_options(task: str) -> dict:
    """The demo's cfg_options of `task` (its schedule)."""
    from common.provenance import REPO_ROOT
    from pipeline.experiment import load_experiment

    tasks = load_experiment(str(REPO_ROOT / DEMO_EXPERIMENT))["tasks"]
    return dict((tasks.get(task) or {}).get("cfg_options") or {})


class ResNetStep:
    """The demo's pretraining step: ResNet-18 (pretrain.models), 48 px, batch 64, SGD."""

    def __init__(self):
        import torch

        from pretrain.models import build_network

        torch.manual_seed(0)
        self.net = build_network("resnet18", 8).train()
        self.optimizer = torch.optim.SGD(self.net.parameters(), lr=0.02, momentum=0.9, weight_decay=5e-4)
        self.images, self.labels = torch.randn(64, 3, 48, 48), torch.randint(0, 8, (64,))
        self.format = "contiguous"

    def set_format(self, name: str) -> None:
        self.net.to(memory_format=_memory_format(name))
        self.format = name

    def step(self) -> None:
        import torch

        images = self.images.contiguous(memory_format=_memory_format(self.format))
        self.optimizer.zero_grad()
        torch.nn.functional.cross_entropy(self.net(images), self.labels).backward()
        self.optimizer.step()


class TaskStep:
    """A tiny task's training step as its Runner takes it: the toolbox model's `train_step`
    (data preprocessor, forward with losses, backward, the config's optimizer) on one batch of
    the demo's data, built from the task config with the demo's overrides; random init."""

    def __init__(self, task: str, data_root: Path, extra_options: dict | None = None):
        import torch
        from mmengine.optim import build_optim_wrapper
        from mmengine.registry import init_default_scope
        from mmengine.runner import Runner

        from common.timing import import_toolbox
        from transfer.build import build_in_scope, resolve_task_config

        options = {**demo_task_options(task), **(extra_options or {})}
        spec, cfg = resolve_task_config(task, options or None, data_root=data_root)
        import_toolbox(spec.scope)
        init_default_scope(spec.scope)
        cfg.model.backbone.init_cfg = None
        torch.manual_seed(0)
        self.model = build_in_scope(cfg.model, spec.scope).train()
        self.optim_wrapper = build_optim_wrapper(self.model, cfg.optim_wrapper)
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
        self.batch = next(iter(loader))
        self.format = "contiguous"

    def set_format(self, name: str) -> None:
        self.model.to(memory_format=_memory_format(name))
        self.format = name

    def step(self) -> None:
        # the preprocessor stacks the images NCHW; channels_last weights make the convolutions
        # (oneDNN) produce channels_last activations from the first layer on
        self.model.train_step(self.batch, self.optim_wrapper)


def build_step(model: str, data_root: Path | None):
    if model == RESNET:
        return ResNetStep()
    task, extra_options = MMCV_ROI_ALIGN.get(model, (model, None))
    return TaskStep(task, Path(data_root) / data_kind(task), extra_options)


def worker_main(model: str, data_root: str | None) -> int:
    """A step worker: build the model, say "ready", then run commands from stdin:
    {"threads": n, "format": name, "steps": k} -> {"seconds": [per step]}; an empty line ends it."""
    import torch

    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # the toolboxes' prints must not mix with the protocol
    sys.stdout = sys.stderr
    step = build_step(model, Path(data_root) if data_root else None)
    step.step()  # warm-up: allocator, oneDNN's kernel choice
    out.write(json.dumps({"ready": model}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            break
        command = json.loads(line)
        torch.set_num_threads(int(command["threads"]))
        if command["format"] != step.format:
            step.set_format(command["format"])
            step.step()  # warm-up in the new layout
        seconds = []
        for _ in range(int(command["steps"])):
            start = time.perf_counter()
            step.step()
            seconds.append(time.perf_counter() - start)
        out.write(json.dumps({"seconds": seconds}) + "\n")
        out.flush()
    return 0


def child_env(**extra) -> dict:
    """The environment of a probe's child process: this checkout first on its import path."""
    from common.provenance import REPO_ROOT

    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT) + (os.pathsep + path if path else ""), **extra}


class _Worker:
    def __init__(self, model: str, data_root: Path | None, log):
        command = [sys.executable, "-m", "pipeline.cpu_bench", "--worker", model]
        if data_root is not None:
            command += ["--data-root", str(data_root)]
        env = child_env(OMP_NUM_THREADS="2")
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                                     env=env)
        self.model = model

    def ready(self) -> None:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the step worker of {self.model} ended before it was ready (see its log)")

    def send(self, threads: int, memory_format: str, steps: int) -> None:
        self.proc.stdin.write(json.dumps({"threads": threads, "format": memory_format, "steps": steps}) + "\n")
        self.proc.stdin.flush()

    def receive(self) -> list[float]:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the step worker of {self.model} ended early (see its log)")
        return json.loads(line)["seconds"]

    def close(self) -> None:
        try:
            self.proc.stdin.write("\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.proc.wait(timeout=60)


def bench_steps(model: str, data_root: Path | None, rounds: int, steps: int, log) -> dict:
    """Median seconds per step of `model` in every configuration, measured in interleaved rounds."""
    first, second = _Worker(model, data_root, log), _Worker(model, data_root, log)
    try:
        first.ready()
        second.ready()
        samples: dict[str, list[float]] = {}
        for _ in range(rounds):
            for memory_format in FORMATS:
                for threads in (2, 1):
                    first.send(threads, memory_format, steps)
                    samples.setdefault(f"{memory_format}_{threads}t", []).extend(first.receive())
                # both at once, one thread each: each worker's own seconds per step
                first.send(1, memory_format, steps)
                second.send(1, memory_format, steps)
                samples.setdefault(f"{memory_format}_pair", []).extend(first.receive() + second.receive())
        return {key: statistics.median(values) for key, values in samples.items()}
    finally:
        first.close()
        second.close()


def step_ratios(medians: dict) -> dict:
    """The ratios the probe prints (pure arithmetic on the medians of bench_steps):
      threads_speedup      s/step at 1 thread / at 2 threads (2 = perfect scaling)
      pair_over_2t         throughput of two 1-thread processes at once (2 steps per their
                           s/step) / one 2-thread process's (> 1: running two cells at once
                           with one thread each does more work per second)
      channels_last_gain   s/step contiguous / channels_last, at 2 threads (> 1: faster)"""
    out = {}
    for memory_format in FORMATS:
        two, one, pair = (medians.get(f"{memory_format}_{k}") for k in ("2t", "1t", "pair"))
        if two and one:
            out[f"{memory_format}_threads_speedup"] = one / two
        if two and pair:
            out[f"{memory_format}_pair_over_2t"] = (2 / pair) / (1 / two)
    if medians.get("contiguous_2t") and medians.get("channels_last_2t"):
        out["channels_last_gain_2t"] = medians["contiguous_2t"] / medians["channels_last_2t"]
    if medians.get("contiguous_1t") and medians.get("channels_last_1t"):
        out["channels_last_gain_1t"] = medians["contiguous_1t"] / medians["channels_last_1t"]
    return out


# ----------------------------------------------------------------------------- a cell's fixed costs

def fixed_costs_main(task: str, data_root: str, iters: int) -> int:
    """In a fresh process: one real transfer cell (random init, the demo's data, `iters`
    iterations); print its results.json timing and the seconds of the process's imports."""
    started = time.perf_counter()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from transfer.request import TransferRequest
    from transfer.run import run_transfer  # torch, mmengine and the suite (the toolbox: in its timing)

    python_imports_s = time.perf_counter() - started
    options = {**demo_task_options(task), "train_cfg.max_iters": iters}
    with tempfile.TemporaryDirectory(prefix="bench_cpu_cell_") as work_dir:
        results = run_transfer(TransferRequest(task, "none", seed=0, work_dir=work_dir, cfg_options=options,
                                               data_root=Path(data_root) / data_kind(task)))
    timing = dict(results["timing"], python_imports_s=round(python_imports_s, 3),
                  process_s=round(time.perf_counter() - started, 3))
    out.write(json.dumps(timing) + "\n")
    out.flush()
    return 0


def pretrain_fixed_costs_main(epochs: int) -> int:
    """In a fresh process: the demo's i.i.d. pretraining cell for `epochs` epoch(s); its timing."""
    started = time.perf_counter()
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    from common.provenance import REPO_ROOT
    from pretrain.config import load_config
    from pretrain.trainer import train

    python_imports_s = time.perf_counter() - started
    cfg = load_config(str(REPO_ROOT / "configs/pretrain/resnet18_shapes_tiny_iid.py"),
                      {"train.epochs": epochs, "train.milestones": [], "val_interval": epochs,
                       "checkpoint_interval": epochs})
    with tempfile.TemporaryDirectory(prefix="bench_cpu_pretrain_") as work_dir:
        meta = train(cfg, work_dir)
    timing = dict(meta["timing"], python_imports_s=round(python_imports_s, 3),
                  process_s=round(time.perf_counter() - started, 3))
    out.write(json.dumps(timing) + "\n")
    out.flush()
    return 0


def _run_json(command: list[str], log) -> dict:
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=log, text=True, env=child_env())
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed (exit {result.returncode}; see its log)")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_fixed_costs(tasks, data_root: Path, iters: int, pretrain_epochs: int, log) -> dict:
    out = {}
    if pretrain_epochs:
        out["pretrain_iid"] = _run_json([sys.executable, "-m", "pipeline.cpu_bench", "--pretrain-cell",
                                         str(pretrain_epochs)], log)
    for task in tasks:
        out[task] = _run_json([sys.executable, "-m", "pipeline.cpu_bench", "--cell", task, "--data-root",
                               str(data_root), "--iters", str(iters)], log)
    return out


# ----------------------------------------------------------------------------- the whole probe

def machine() -> dict:
    """The CPU: model name, the AVX-512 flag, torch's kernel capability, the cap's variables."""
    import torch

    from common.numerics import PORTABLE_CPU_ENV

    name, flags = "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and name == "unknown":
                name = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return {"cpu": name, "cores": os.cpu_count(), "avx512f": "avx512f" in flags, "avx2": "avx2" in flags,
            "torch_capability": torch.backends.cpu.get_cpu_capability(),
            "capped": {k: os.environ[k] for k in PORTABLE_CPU_ENV if k in os.environ},
            "load_average": os.getloadavg()}


def run_probe(models, rounds: int, steps: int, fixed_tasks, fixed_iters: int, pretrain_epochs: int,
              log_path: Path, work_root: Path, progress=print) -> dict:
    """Every part of the probe; `progress` gets a line per part."""
    report = {"machine": machine(), "rounds": rounds, "steps_per_block": steps, "steps": {}, "fixed": {}}
    with open(log_path, "a") as log:
        data_root = None
        if any(m != RESNET for m in models) or fixed_tasks:
            start = time.perf_counter()
            data_root = work_root / "data"
            demo_data(data_root)
            report["data_generation_s"] = round(time.perf_counter() - start, 2)
        for model in models:
            start = time.perf_counter()
            medians = bench_steps(model, data_root, rounds, steps, log)
            report["steps"][model] = {"seconds_per_step": medians, "ratios": step_ratios(medians)}
            progress(f"steps of {model}: {time.perf_counter() - start:.0f} s")
        if fixed_tasks or pretrain_epochs:
            start = time.perf_counter()
            report["fixed"] = bench_fixed_costs(fixed_tasks, data_root, fixed_iters, pretrain_epochs, log)
            progress(f"fixed costs: {time.perf_counter() - start:.0f} s")
    return report


def format_probe(report: dict) -> str:
    m = report["machine"]
    cap = ", ".join(f"{k}={v}" for k, v in m["capped"].items()) or "none"
    lines = [f"CPU: {m['cpu']}, {m['cores']} cores, AVX-512 {'yes' if m['avx512f'] else 'no'}, AVX2 "
             f"{'yes' if m['avx2'] else 'no'}; torch kernels: {m['torch_capability']} (caps: {cap}); "
             f"load average at start {m['load_average'][0]:.1f}",
             f"training steps: median s/step over {report['rounds']} interleaved rounds of "
             f"{report['steps_per_block']} steps per configuration",
             f"{'model':<28} {'2 thr':>7} {'1 thr':>7} {'pair 1t':>8} {'CL 2t':>7} {'CL 1t':>7} {'CL pair':>8} | "
             f"{'1t/2t':>6} {'pair/2t':>8} {'CL gain 2t':>10} {'CL gain 1t':>10} {'CL pair/2t':>10}"]
    for model, row in report["steps"].items():
        s, r = row["seconds_per_step"], row["ratios"]

        def f(key, table=s, width=7, digits=3):
            value = table.get(key)
            return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

        lines.append(f"{model:<28} {f('contiguous_2t')} {f('contiguous_1t')} {f('contiguous_pair', width=8)} "
                     f"{f('channels_last_2t')} {f('channels_last_1t')} {f('channels_last_pair', width=8)} | "
                     f"{f('contiguous_threads_speedup', r, 6, 2)} {f('contiguous_pair_over_2t', r, 8, 2)} "
                     f"{f('channels_last_gain_2t', r, 10, 3)} {f('channels_last_gain_1t', r, 10, 3)} "
                     f"{f('channels_last_pair_over_2t', r, 10, 2)}")
    for variant, (task, _) in MMCV_ROI_ALIGN.items():
        ours, mmcv = report["steps"].get(task), report["steps"].get(variant)
        if ours and mmcv:
            gains = [f"{mmcv['seconds_per_step'][k] / ours['seconds_per_step'][k]:.2f}x at {label}"
                     for k, label in (("contiguous_2t", "2 threads"), ("contiguous_1t", "1 thread"),
                                      ("contiguous_pair", "two 1-thread processes"))
                     if ours["seconds_per_step"].get(k) and mmcv["seconds_per_step"].get(k)]
            lines.append(f"{task}: MatmulRoIAlign over mmcv's RoIAlign kernel (s/step of mmcv's / ours): "
                         + ", ".join(gains))
    lines.append("1t/2t: 1-thread s/step over 2-thread (2.0 = perfect scaling); pair/2t: throughput of two "
                 "1-thread processes at once over one 2-thread process (> 1: two cells at once pay); CL gain: "
                 "contiguous s/step over channels_last (> 1: channels_last is faster)")
    if report["fixed"]:
        lines.append("a cell's fixed costs (a fresh process each; seconds): python imports | toolbox import, "
                     "config+backbone, data checks, dataset+model, Runner build, Runner set-up | training "
                     "(iterations, s/iter data + compute) | test inference, metric | process total")
        for name, t in report["fixed"].items():
            lines.append(f"{name:<20} {_fixed_line(t)}")
    return "\n".join(lines)


def _fixed_line(t: dict) -> str:
    def g(key):
        return float(t.get(key) or 0.0)

    done = int(t.get("train_iters") or 0)
    iters = max(done, 1)
    return (f"{g('python_imports_s'):5.1f} | {g('toolbox_import_s'):5.1f} {g('build_config_s'):5.1f} "
            f"{g('check_data_s'):5.1f} {g('dataset_build_s') + g('model_build_s'):5.1f} "
            f"{g('runner_build_s'):5.1f} {g('train_setup_s'):5.1f} | {g('train_s'):6.1f} ({done} it, "
            f"{g('train_data_s') / iters:.3f} + {g('train_compute_s') / iters:.3f}) | "
            f"{g('test_inference_s') + g('val_s'):5.1f} {g('evaluate_s'):5.1f} | {g('process_s'):6.1f}")


def _main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="worker modes of tools/bench_cpu.py (not for direct use)")
    parser.add_argument("--worker")
    parser.add_argument("--cell")
    parser.add_argument("--pretrain-cell", type=int)
    parser.add_argument("--data-root")
    parser.add_argument("--iters", type=int, default=5)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.data_root)
    if args.cell:
        return fixed_costs_main(args.cell, args.data_root, args.iters)
    if args.pretrain_cell:
        return pretrain_fixed_costs_main(args.pretrain_cell)
    parser.error("one of --worker, --cell, --pretrain-cell")
    return 2


if __name__ == "__main__":
    from common.numerics import pin_cpu_numerics

    pin_cpu_numerics()  # inherited TRANSFER_SUITE_PORTABLE_NUMERICS: the same kernels as the parent
    sys.exit(_main(sys.argv[1:]))
