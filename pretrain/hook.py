"""The mmengine hook that runs any pretraining method (pretrain.methods) inside a Runner.

Generic: it applies the method's EpochPlan (indices to the SubsetSampler, loss weights to the
TrainingLoss), records the per-sample losses of every training iteration into the LossTable,
counts the sample-forwards and sample-backwards actually made, asks the method at every epoch
end what the next epoch trains on, carries all of it (and the method's own state) in
checkpoints, and writes the export at the end of training. No method is named here.

Variable-length epochs vs mmengine: EpochBasedTrainLoop fixes `max_iters` (used only for
progress and ETA) from the first epoch's length; when the method plans its subset sizes in
advance the hook computes the exact total once and sets it. The LR schedule needs nothing: it
is stepped per epoch, or per iteration over a compressed schedule (pretrain.trainer).
"""

from __future__ import annotations

import math
import time

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from common.amp import CPU_AMP_WRAPPER
from common.backbone import BackboneExport, write_export
from common.checkpoints import UnsafeCheckpoint, safe_load
from common.errors import MethodFailed, check_finite_loss
from pretrain.loss_table import LossTable
from pretrain.methods.base import EpochPlan, Method, reference_epochs
from pretrain.sampler import SubsetSampler, per_rank_length
from pretrain.training_loss import TrainingLoss


def training_cost(forwards: int, backwards: int, iid_forwards: float, forward_passes: int = 1) -> float:
    """Training compute relative to i.i.d.: a forward is ≈ 1/3 and a backward ≈ 2/3 of a
    training step, so forwards = backwards gives forwards / iid_forwards exactly.

    `forward_passes`: encoder forwards per trained sample of the objective (MoCo v2: 2, the
    query's and the key encoder's, which has no backward). `iid_forwards` counts all of them, so
    i.i.d. training makes iid_forwards / forward_passes backwards and costs 1.0 exactly."""
    iid_backwards = iid_forwards / forward_passes
    return (forwards + 2 * backwards) / (iid_forwards + 2 * iid_backwards) if iid_forwards else 0.0


class MethodHook(Hook):
    """Drives a pretraining method and measures its cost; see the module doc."""

    priority = "NORMAL"  # before CheckpointHook (VERY_LOW): checkpoints hold the next epoch's plan

    def __init__(self, method: Method, loss: TrainingLoss, sampler: SubsetSampler, arm: dict,
                 export_dir: str | None = None, export_meta: dict | None = None,
                 batch_size: int | None = None, timer=None):
        self.method = method
        self.loss = loss
        self.sampler = sampler
        self.arm = dict(arm)  # as configured: checked on resume, recorded in the export
        self.batch_size = batch_size
        self.dataset_size = sampler.dataset_size
        self.table = LossTable(self.dataset_size)
        self.plan: EpochPlan | None = None  # what the current epoch trains on
        self.forwards = 0
        self.backwards = 0
        self._epoch_counts = torch.zeros(2, dtype=torch.float64)  # this rank's forwards, backwards
        self.history: list[dict] = []  # one row per trained epoch
        self.wall_clock_before = 0.0  # seconds of earlier (resumed-from) sessions
        self.export_dir = export_dir
        self.export_meta = export_meta or {}
        self.last_metrics: dict = {}
        self.metrics_epoch: int | None = None  # the epoch count last_metrics were measured after
        self._t0 = None
        self.timer = timer  # a common.timing.LoopTimerHook: the export's `timing` (this session's)

    # --- helpers ---------------------------------------------------------------------
    def wall_clock(self) -> float:
        return self.wall_clock_before + (time.perf_counter() - self._t0 if self._t0 else 0.0)

    def iid_forwards(self) -> float:
        """Sample-forwards of i.i.d. training over the configured epochs this run covers."""
        epochs = reference_epochs(self.method.epochs, len(self.history), self.method.schedule_fraction)
        samples = self.export_meta.get("source_size") or self.dataset_size  # a subset run: the full source
        return epochs * samples * self.export_meta.get("forward_passes", 1)

    def cost(self) -> float:
        return training_cost(self.forwards, self.backwards, self.iid_forwards(),
                             self.export_meta.get("forward_passes", 1))

    def _apply(self, plan: EpochPlan) -> None:
        self.plan = plan
        self.sampler.set_indices(plan.indices, plan.shuffle)
        self.loss.use(plan)

    def _ask_method(self, when: str, call, *args):
        """`call(*args)`; an exception of the method (maybe a user's) becomes one MethodFailed naming
        the method, the arm and the epoch (the original traceback stays chained to it)."""
        try:
            return call(*args)
        except Exception as exc:
            arm = self.export_meta.get("label") or self.arm["name"]
            raise MethodFailed(f"method {self.method.name!r} ({type(self.method).__module__}) of arm {arm!r} raised "
                               f"in {when}: {type(exc).__name__}: {exc}") from exc

    def _set_max_iters(self, runner) -> None:
        planned = self.method.plan()
        if planned is None or self.method.dataset_size is None:
            return  # cost known only after the run: mmengine's estimate stays
        bs = self.batch_size or runner.train_dataloader.batch_size
        runner.train_loop._max_iters = sum(
            math.ceil(per_rank_length(int(size), runner.world_size, bs) / bs) for size in planned.sizes)

    def _reduced_epoch_counts(self) -> tuple[int, int]:
        counts = self._epoch_counts.clone()
        if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
            dist.all_reduce(counts, op=dist.ReduceOp.SUM)
        self._epoch_counts.zero_()
        return int(counts[0]), int(counts[1])

    # --- engine events ---------------------------------------------------------------
    def before_train(self, runner) -> None:
        self._t0 = time.perf_counter()
        self._nan_advice = "lower the lr, or check the data"
        if type(runner.optim_wrapper).__name__ == CPU_AMP_WRAPPER:
            self._nan_advice += ("; under bfloat16 on a CPU also the map sizes: oneDNN's gradient of a stride-2 "
                                 "convolution on a 1x1 map can be NaN (docs/setup.md, Mixed precision)")
        if self.plan is None:  # a fresh run; a resumed one has its plan from the checkpoint
            self._apply(self._ask_method("start() before epoch 1", self.method.start))
        self._set_max_iters(runner)

    def before_train_epoch(self, runner) -> None:
        self.loss.start_epoch(runner.epoch + 1)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        record = self.loss.pop()
        self.table.record(record.indices, record.losses)
        self._epoch_counts[0] += record.forwards
        self._epoch_counts[1] += record.backwards
        check_finite_loss(outputs, f"arm {self.arm['name']}", f"epoch {runner.epoch + 1}, iteration {batch_idx + 1}",
                          runner.work_dir, self._nan_advice)

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1  # 1-based index of the epoch that just trained
        trained = int(self.plan.indices.size)
        epoch_sum, epoch_count, nonfinite = self.table.close_epoch()
        forwards, backwards = self._reduced_epoch_counts()
        mean_loss = epoch_sum / max(epoch_count, 1)
        nxt = self._ask_method(f"end_epoch() after epoch {epoch}", self.method.end_epoch, epoch, self.table)
        if nxt is not None:
            forwards += nxt.extra_forwards
            self._apply(nxt)
        self.forwards += forwards
        self.backwards += backwards
        event = nxt.event if nxt is not None else None
        row = {"epoch": epoch, "trained": trained, "fraction": trained / self.dataset_size,
               "event": event, "mean_loss": mean_loss, "nonfinite": nonfinite,
               "forwards": forwards, "backwards": backwards, "cumulative_cost": None}
        self.history.append(row)
        row["cumulative_cost"] = self.cost()
        next_fraction = self.plan.indices.size / self.dataset_size
        runner.logger.info(
            f"[{self.arm['name']}] epoch {epoch}: trained on {trained}/{self.dataset_size} "
            f"({100 * row['fraction']:.1f}%), mean loss {mean_loss:.4f}, cumulative cost "
            f"{100 * row['cumulative_cost']:.1f}%"
            + (f", {event} -> next epoch {100 * next_fraction:.1f}%" if event else ""))
        if nonfinite:
            runner.logger.warning(f"epoch {epoch}: {nonfinite} non-finite per-sample losses "
                                  "(not averaged; those samples rank as hardest)")
        runner.visualizer.add_scalars(
            {"sampling/kept_fraction": row["fraction"], "sampling/cumulative_cost": row["cumulative_cost"],
             "sampling/mean_loss": mean_loss}, step=epoch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics:
            self.last_metrics = dict(metrics)
            self.metrics_epoch = len(self.history)
            shown = ", ".join(f"{k} {v:.2f}" for k, v in metrics.items())
            runner.logger.info(f"[{self.arm['name']}] after {len(self.history)} epochs: {shown}")

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint["sampling"] = self.state_dict()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if "sampling" not in checkpoint:
            raise KeyError("checkpoint has no 'sampling' state: it was not written by this suite's "
                           "pretraining, so the run cannot resume exactly")
        self.load_state_dict(checkpoint["sampling"])

    def after_train(self, runner) -> None:
        if self.export_dir is None:
            return
        if self.metrics_epoch != len(self.history) and runner.val_loop is not None:
            # resumed from the last checkpoint, which is written before the final validation (a
            # run killed during it, or resumed once finished): validate, or the export loses it
            runner.logger.info(f"validating after epoch {len(self.history)} for the export (the checkpoint "
                               "this run resumed from was saved before that validation)")
            runner.val_loop.run()
        if runner.rank != 0:
            return
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        export = BackboneExport.from_json(self.export_meta_now(), source=f"of the export to {self.export_dir}")
        path = write_export(self.export_dir, model.net.state_dict(), export)
        runner.logger.info(f"exported backbone to {path} (measured cost {100 * self.cost():.1f}%)")

    # --- state -----------------------------------------------------------------------
    def export_meta_now(self) -> dict:
        """The export metadata as of now (measured cost, wall-clock, last metrics; `timing`:
        where this session's time went, common.timing)."""
        meta = meta_from_state(self.state_dict(), self.dataset_size)
        if self.timer is not None:
            meta["timing"] = self.timer.summary()
        return meta

    def state_dict(self) -> dict:
        return {
            "arm": self.arm,
            "method": self.method.state_dict(),
            "plan": self.plan.state_dict() if self.plan is not None else None,
            "table": self.table.state_dict(),
            "epochs": self.method.epochs,
            "schedule_fraction": self.method.schedule_fraction,
            "forwards": self.forwards,
            "backwards": self.backwards,
            "history": self.history,
            "wall_clock_s": self.wall_clock(),
            "last_metrics": self.last_metrics,
            "metrics_epoch": self.metrics_epoch,
            "export_meta": self.export_meta,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["arm"] != self.arm:
            raise ValueError(f"checkpoint was trained with arm {state['arm']}, config says {self.arm}")
        self.method.load_state_dict(state["method"])
        if state["plan"] is not None:
            self._apply(EpochPlan.from_state_dict(state["plan"]))
        self.table.load_state_dict(state["table"])
        self.forwards = int(state["forwards"])
        self.backwards = int(state["backwards"])
        self.history = list(state["history"])
        self.wall_clock_before = float(state["wall_clock_s"])
        self._t0 = time.perf_counter()
        self.last_metrics = dict(state.get("last_metrics", {}))
        self.metrics_epoch = state.get("metrics_epoch")


def meta_from_state(state: dict, dataset_size: int) -> dict:
    """Export metadata from a MethodHook state (live, or read from a checkpoint)."""
    epochs = len(state["history"])
    export_meta = state["export_meta"]
    # i.i.d. over the whole source set: a run on a subset (data.subset) costs its share of it
    source_size = export_meta.get("source_size") or dataset_size
    passes = export_meta.get("forward_passes", 1)  # MoCo v2: query and key forward per sample
    iid_forwards = reference_epochs(state["epochs"], epochs, state["schedule_fraction"]) * source_size * passes
    metrics = state.get("last_metrics", {})
    arm = state["arm"]
    cost = training_cost(state["forwards"], state["backwards"], iid_forwards, passes)
    # pixel-weighted: a 112 px run's sample-step costs (112/224)² of a 224 px one
    cost_pixels = cost * export_meta.get("pixel_scale", 1.0)
    selection = export_meta.get("selection_cost") or {}
    return {
        **export_meta,
        "arm": export_meta.get("label") or arm["name"],
        "method": arm["name"],
        "arm_params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in arm.items() if k != "name"},
        "epochs": epochs,
        "cost": cost,
        "cost_pixels": cost_pixels,
        "total_cost": cost_pixels + (selection.get("cost") or 0.0),  # selection + pretraining
        "forwards": state["forwards"],
        "backwards": state["backwards"],
        "iid_forwards": round(iid_forwards),
        "wall_clock_s": round(float(state["wall_clock_s"]), 2),
        "top1": metrics.get("top1"),
        "top5": metrics.get("top5"),
        "metrics": metrics,
        "history": state["history"],
    }


def export_checkpoint(checkpoint_path: str, out_dir: str):
    """Write the export of any pretraining checkpoint (e.g. a run stopped early)."""
    try:
        checkpoint = safe_load(checkpoint_path)
    except UnsafeCheckpoint:
        raise
    except Exception as exc:  # truncated or damaged: torch's message alone does not name the file
        raise ValueError(f"cannot read checkpoint {checkpoint_path}: it is truncated, damaged or not a "
                         f"checkpoint ({type(exc).__name__}: {exc}); export another one, e.g. an earlier "
                         "epoch_N.pth of the same run") from exc
    if not isinstance(checkpoint, dict):
        raise KeyError(f"{checkpoint_path} is not a checkpoint of this suite's pretraining (a "
                       f"{type(checkpoint).__name__}, not a dict)")
    if "sampling" not in checkpoint or "state_dict" not in checkpoint:
        raise KeyError(f"{checkpoint_path} is not a checkpoint of this suite's pretraining "
                       "(no 'sampling' or 'state_dict' entry)")
    state = checkpoint["sampling"]
    net = {k[len("net."):]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    if not net:
        raise KeyError(f"{checkpoint_path}: state_dict has no 'net.*' keys")
    meta = meta_from_state(state, int(state["table"]["sum"].numel()))
    return write_export(out_dir, net, BackboneExport.from_json(meta, source=f"of the export of {checkpoint_path}"))
