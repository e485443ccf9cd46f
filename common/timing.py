"""Where a run's time goes: named phases and the Runner's loop, for the `timing` of its outputs.

A transfer run records in results.json `timing` (and a pretraining run in backbone.json
`timing`) how its wall-clock splits into start-up (toolbox imports, config and backbone
checks, data checks, Runner construction, the Runner's own set-up before the first
iteration), training (per iteration: waiting for the batch vs the step with every hook), and
evaluation (inference vs the metric's computation). `format_timing` prints it on one line.

Measured with `time.perf_counter` in the process that trains; the Runner part by a hook
(`LoopTimerHook`) at the lowest priority, so that a training iteration's compute includes the
other hooks' per-iteration work and its data time only the wait for the next batch.
"""

from __future__ import annotations

import contextlib
import time

from mmengine.hooks import Hook

# The phases in the order a run goes through them (a missing phase is simply left out).
STARTUP_PHASES = ("toolbox_import_s", "build_config_s", "check_data_s", "dataset_build_s", "model_build_s",
                  "runner_build_s", "train_setup_s")
TRAIN_PHASES = ("train_s", "train_data_s", "train_compute_s", "train_other_s")
EVAL_PHASES = ("val_s", "test_setup_s", "test_inference_s", "evaluate_s")


class PhaseClock:
    """Wall-clock seconds of named phases, accumulated; `record()` adds the total."""

    def __init__(self):
        self.started = time.perf_counter()
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + float(seconds)

    def record(self) -> dict:
        out = {name: round(value, 3) for name, value in self.seconds.items()}
        out["total_s"] = round(time.perf_counter() - self.started, 3)
        return out


def import_toolbox(scope: str) -> None:
    """Import a toolbox's registered modules (models, datasets, metrics, hooks) now, instead
    of lazily inside the first Runner: the cost is then measured apart, and paid once per
    process (Python caches the modules; a second call costs microseconds)."""
    import importlib

    if scope not in ("mmdet", "mmseg", "mmpose"):
        return
    importlib.import_module(f"{scope}.utils").register_all_modules(init_default_scope=False)


class LoopTimerHook(Hook):
    """Times the Runner: set-up before training, each training epoch (waiting for batches vs
    the steps themselves vs what lies outside the iterations: the loader's start, epoch-end
    hooks), validation, and the test (inference vs the evaluator's metric computation).

    `train_called` / `test_called`: perf_counter values taken just before `runner.train()` /
    `runner.test()`, to measure the Runner's set-up (dataloaders, optimizer, weight init; the
    test loop and evaluator) before the loop's first hook call."""

    priority = "LOWEST"  # after every other hook's per-iteration work: it counts as compute

    def __init__(self):
        self.train_called: float | None = None
        self.test_called: float | None = None
        self.phases: dict[str, float] = {}  # measured outside the Runner (e.g. dataset_build_s), in seconds
        self._training = False
        self.record: dict = {"train_setup_s": 0.0, "train_s": 0.0, "train_data_s": 0.0, "train_compute_s": 0.0,
                             "train_iters": 0, "val_s": 0.0, "test_setup_s": 0.0, "test_inference_s": 0.0,
                             "evaluate_s": 0.0, "epochs": []}
        self._mark = self._epoch_start = self._train_start = self._val_start = 0.0
        self._epoch_data = self._epoch_compute = 0.0
        self._epoch_iters = 0
        self._val_in_train = self._val_in_epoch = 0.0  # validation inside training: reported as val_s
        self._by_epoch = True

    # training
    def before_train(self, runner) -> None:
        from mmengine.runner import EpochBasedTrainLoop

        # an iteration-based loop is one long "epoch" to the hooks: its record has no epochs
        self._by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        now = time.perf_counter()
        if self.train_called is not None:
            self.record["train_setup_s"] += now - self.train_called
        self._train_start = self._mark = now
        self._training = True

    def before_train_epoch(self, runner) -> None:
        self._epoch_start = self._mark = time.perf_counter()
        self._epoch_data = self._epoch_compute = self._val_in_epoch = 0.0
        self._epoch_iters = 0

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        now = time.perf_counter()
        self._epoch_data += now - self._mark
        self._mark = now

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        now = time.perf_counter()
        self._epoch_compute += now - self._mark
        self._epoch_iters += 1
        self._mark = now

    def after_train_epoch(self, runner) -> None:
        seconds = time.perf_counter() - self._epoch_start - self._val_in_epoch
        if self._by_epoch:
                self.record["epochs"].append({
                "epoch": len(self.record["epochs"]) + 1, "seconds": round(seconds, 4),
                "data_s": round(self._epoch_data, 4), "compute_s": round(self._epoch_compute, 4),
                "outside_iters_s": round(seconds - self._epoch_data - self._epoch_compute, 4),
                "iters": self._epoch_iters})
        self._close_block()

    def _close_block(self) -> None:
        self.record["train_data_s"] += self._epoch_data
        self.record["train_compute_s"] += self._epoch_compute
        self.record["train_iters"] += self._epoch_iters
        self._epoch_data = self._epoch_compute = 0.0
        self._epoch_iters = 0

    def after_train(self, runner) -> None:
        self.record["train_s"] += self._running_train_s()
        self._val_in_train = 0.0
        self._training = False

    def _running_train_s(self) -> float:
        return time.perf_counter() - self._train_start - self._val_in_train

    # validation (inside training) and test
    def before_val_epoch(self, runner) -> None:
        self._val_start = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None) -> None:
        now = time.perf_counter()
        seconds = now - self._val_start
        self.record["val_s"] += seconds
        self._val_in_train += seconds
        self._val_in_epoch += seconds  # an iteration-based loop validates inside its one "epoch"
        self._mark = now  # the wait for the next batch starts after the validation
        if self._by_epoch and self.record["epochs"]:
            self.record["epochs"][-1]["val_s"] = round(seconds, 4)

    def before_test(self, runner) -> None:
        if self.test_called is not None:
            self.record["test_setup_s"] += time.perf_counter() - self.test_called

    def before_test_epoch(self, runner) -> None:
        self._mark = time.perf_counter()

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        now = time.perf_counter()
        self.record["test_inference_s"] += now - self._mark
        self._mark = now

    def after_test_epoch(self, runner, metrics=None) -> None:
        self.record["evaluate_s"] += time.perf_counter() - self._mark

    def summary(self) -> dict:
        """The record, rounded, with `phases`; `train_other_s`: training time outside the
        iterations' data and compute (the loader's start, epoch-end hooks, the loop's own work).
        Called during training (a hook writing an export in after_train), train_s runs to now."""
        record = dict(self.record)
        if self._training:
            record["train_s"] += self._running_train_s()
        out = {key: round(float(value), 3) for key, value in self.phases.items()}
        out.update({key: (round(value, 3) if isinstance(value, float) else value)
                    for key, value in record.items() if key != "epochs"})
        out["train_other_s"] = round(record["train_s"] - record["train_data_s"] - record["train_compute_s"], 3)
        if self.record["epochs"]:
            out["epochs"] = list(self.record["epochs"])
        return out


def format_timing(timing: dict) -> str:
    """One line: start-up / training (data, compute, other) / evaluation, in seconds."""
    def get(key):
        return float(timing.get(key) or 0.0)

    startup = sum(get(k) for k in STARTUP_PHASES)
    evaluation = sum(get(k) for k in EVAL_PHASES)
    parts = [f"start-up {startup:.1f} s (" + ", ".join(
        f"{k[:-2].replace('_', ' ')} {get(k):.1f}" for k in STARTUP_PHASES if k in timing) + ")"]
    parts.append(f"training {get('train_s'):.1f} s (data {get('train_data_s'):.1f}, compute "
                 f"{get('train_compute_s'):.1f}, other {get('train_other_s'):.1f}; "
                 f"{int(timing.get('train_iters') or 0)} iterations)")
    parts.append(f"evaluation {evaluation:.1f} s (" + ", ".join(
        f"{k[:-2].replace('_', ' ')} {get(k):.1f}" for k in EVAL_PHASES if k in timing) + ")")
    if "total_s" in timing:
        parts.append(f"total {get('total_s'):.1f} s")
    return "; ".join(parts)
