"""The mmengine hook that connects the engine-free sampling logic to a Runner.

It records the per-sample losses of every training iteration into the LossTable, applies
the arm's rule at the end of every epoch (DaR/DaP: drop or refresh the SubsetSampler's
subset; re-weighting: new sample weights from the epoch's losses), counts the
sample-forwards actually made (the measured cost), carries all of this in checkpoints, and
writes the export at the end of training.

Variable-length epochs vs mmengine: EpochBasedTrainLoop fixes `max_iters` (used only for
progress and ETA) from the first epoch's length; the subset sizes of a DaR run depend only
on the dataset size, so the hook computes the exact total from the schedule once and sets
it. The LR schedule is epoch-based and needs nothing.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from pretrain.export import write_export
from pretrain.loss_table import LossTable, select_hardest
from pretrain.sampler import SubsetSampler, per_rank_length
from pretrain.schedule import DROP, REFRESH, ScheduleState, arm_params, end_of_epoch, num_kept, simulate


def reweighting(last_losses: torch.Tensor, power: float = 1.0) -> torch.Tensor:
    """Sample weights ∝ previous-epoch loss^power, mean 1; unseen samples weigh 1 and
    non-finite losses get the largest finite weight."""
    weights = last_losses.clone().to(torch.float64)
    finite = torch.isfinite(weights)
    if not bool(finite.any()):
        return torch.ones_like(weights, dtype=torch.float32)
    weights[finite] = weights[finite].clamp(min=0) ** power
    weights[torch.isinf(weights)] = weights[finite].max()
    seen = ~torch.isnan(weights)
    mean = weights[seen].mean()
    weights = torch.where(seen, weights / mean if mean > 0 else torch.ones_like(weights), torch.ones_like(weights))
    return weights.float()


class SamplingHook(Hook):
    """Drives an arm (iid, dar, dap, reweight) and measures its cost; see the module doc."""

    priority = "NORMAL"  # before CheckpointHook (VERY_LOW): checkpoints hold the new subset

    def __init__(self, arm: dict, sampler: SubsetSampler, export_dir: str | None = None,
                 export_meta: dict | None = None, batch_size: int | None = None):
        self.arm = dict(arm)
        self.params = arm_params(self.arm)
        self.sampler = sampler
        self.batch_size = batch_size
        self.dataset_size = sampler.dataset_size
        self.table = LossTable(self.dataset_size)
        self.state = ScheduleState.initial(self.params) if self.params else None
        self.forwards = 0
        self.history: list[dict] = []  # one row per trained epoch
        self.wall_clock_before = 0.0  # seconds of earlier (resumed-from) sessions
        self.export_dir = export_dir
        self.export_meta = export_meta or {}
        self.last_metrics: dict = {}
        self._t0 = None

    # --- helpers ---------------------------------------------------------------------
    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def wall_clock(self) -> float:
        return self.wall_clock_before + (time.perf_counter() - self._t0 if self._t0 else 0.0)

    def cost(self) -> float:
        """Sample-forwards so far relative to an i.i.d. run over the same epochs."""
        epochs = len(self.history)
        return self.forwards / (epochs * self.dataset_size) if epochs else 0.0

    def _set_max_iters(self, runner) -> None:
        loop = runner.train_loop
        world_size = runner.world_size
        plan = simulate(self.params, loop.max_epochs, self.dataset_size)
        bs = self.batch_size or runner.train_dataloader.batch_size
        loop._max_iters = sum(
            math.ceil(per_rank_length(int(size), world_size, bs) / bs) for size in plan.sizes
        )

    # --- engine events ---------------------------------------------------------------
    def before_train(self, runner) -> None:
        self._t0 = time.perf_counter()
        if self.params is not None:
            self._set_max_iters(runner)
        if self.arm["name"] == "reweight" and self.history:
            self._model(runner).sample_weights = reweighting(self.table.last, self.arm.get("power", 1.0))

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        losses = self._model(runner).last_losses
        if losses is None:
            raise RuntimeError("the model did not expose per-sample losses (Classifier.last_losses)")
        self.table.record(data_batch["index"], losses)
        loss = (outputs or {}).get("loss")
        if loss is not None and not torch.isfinite(torch.as_tensor(loss)).all():
            # The weights are already poisoned by this step: stop before a checkpoint saves them.
            raise FloatingPointError(
                f"non-finite training loss ({float(loss)}) at epoch {runner.epoch + 1}, iteration "
                f"{batch_idx + 1} of arm {self.arm['name']}; checkpoints written so far in "
                f"{runner.work_dir} are intact (lower the lr, or check the data)")

    def after_train_epoch(self, runner) -> None:
        epoch = runner.epoch + 1  # 1-based index of the epoch that just trained
        trained = self.sampler.subset.size
        epoch_sum, epoch_count, nonfinite = self.table.close_epoch()
        self.forwards += epoch_count + nonfinite
        mean_loss = epoch_sum / max(epoch_count, 1)
        event = None
        if self.params is not None:
            event = end_of_epoch(self.params, self.state, epoch)
            if event == DROP:
                scores = self.table.scores(self.params.accumulate)
                keep = num_kept(self.params.keep, self.sampler.subset.size)
                self.sampler.set_subset(select_hardest(scores, self.sampler.subset, keep))
                self.table.reset_interval()
            elif event == REFRESH:
                self.sampler.set_subset(np.arange(self.dataset_size))
                self.table.reset_interval()
        elif self.arm["name"] == "reweight":
            # table.last holds exactly the previous epoch's losses (every sample is seen)
            self._model(runner).sample_weights = reweighting(self.table.last, self.arm.get("power", 1.0))
        row = {"epoch": epoch, "trained": trained, "fraction": trained / self.dataset_size,
               "event": event, "mean_loss": mean_loss, "nonfinite": nonfinite,
               "cumulative_cost": None}
        self.history.append(row)
        row["cumulative_cost"] = self.cost()
        nxt = self.sampler.subset.size / self.dataset_size
        runner.logger.info(
            f"[{self.arm['name']}] epoch {epoch}: trained on {trained}/{self.dataset_size} "
            f"({100 * row['fraction']:.1f}%), mean loss {mean_loss:.4f}, cumulative cost "
            f"{100 * row['cumulative_cost']:.1f}%"
            + (f", {event} -> next epoch {100 * nxt:.1f}%" if event else "")
        )
        if nonfinite:
            runner.logger.warning(f"epoch {epoch}: {nonfinite} non-finite per-sample losses "
                                  "(not averaged; those samples rank as hardest)")
        runner.visualizer.add_scalars(
            {"sampling/kept_fraction": row["fraction"], "sampling/cumulative_cost": row["cumulative_cost"],
             "sampling/mean_loss": mean_loss}, step=epoch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        if metrics:
            self.last_metrics = dict(metrics)
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
        if self.export_dir is None or runner.rank != 0:
            return
        path = write_export(self.export_dir, self._model(runner).net.state_dict(), self.export_meta_now())
        runner.logger.info(f"exported backbone to {path} (measured cost {100 * self.cost():.1f}%)")

    # --- state -----------------------------------------------------------------------
    def export_meta_now(self) -> dict:
        """The export metadata as of now (measured cost, wall-clock, last metrics)."""
        return meta_from_state(self.state_dict(), self.dataset_size)

    def state_dict(self) -> dict:
        return {
            "arm": self.arm,
            "subset": torch.from_numpy(self.sampler.subset.copy()),
            "table": self.table.state_dict(),
            "t_start": self.state.t_start if self.state else None,
            "t_prev": self.state.t_prev if self.state else None,
            "forwards": self.forwards,
            "history": self.history,
            "wall_clock_s": self.wall_clock(),
            "last_metrics": self.last_metrics,
            "export_meta": self.export_meta,
        }

    def load_state_dict(self, state: dict) -> None:
        if state["arm"] != self.arm:
            raise ValueError(f"checkpoint was trained with arm {state['arm']}, config says {self.arm}")
        self.sampler.set_subset(state["subset"].numpy())
        self.table.load_state_dict(state["table"])
        if self.state is not None:
            self.state = ScheduleState(t_start=state["t_start"], t_prev=state["t_prev"])
        self.forwards = int(state["forwards"])
        self.history = list(state["history"])
        self.wall_clock_before = float(state["wall_clock_s"])
        self._t0 = time.perf_counter()
        self.last_metrics = dict(state.get("last_metrics", {}))


def meta_from_state(state: dict, dataset_size: int) -> dict:
    """Export metadata from a SamplingHook state (live, or read from a checkpoint)."""
    epochs = len(state["history"])
    iid_forwards = epochs * dataset_size
    metrics = state.get("last_metrics", {})
    return {
        **state["export_meta"],
        "arm": state["arm"]["name"],
        "arm_params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in state["arm"].items() if k != "name"},
        "epochs": epochs,
        "cost": state["forwards"] / iid_forwards if iid_forwards else 0.0,
        "forwards": state["forwards"],
        "iid_forwards": iid_forwards,
        "wall_clock_s": round(float(state["wall_clock_s"]), 2),
        "top1": metrics.get("top1"),
        "top5": metrics.get("top5"),
        "metrics": metrics,
        "history": state["history"],
    }


def export_checkpoint(checkpoint_path: str, out_dir: str):
    """Write the export of any pretraining checkpoint (e.g. a run stopped early)."""
    checkpoint = torch.load(checkpoint_path, map_location="cpu")
    if "sampling" not in checkpoint or "state_dict" not in checkpoint:
        raise KeyError(f"{checkpoint_path} is not a checkpoint of this suite's pretraining "
                       "(no 'sampling' or 'state_dict' entry)")
    state = checkpoint["sampling"]
    net = {k[len("net."):]: v for k, v in checkpoint["state_dict"].items() if k.startswith("net.")}
    if not net:
        raise KeyError(f"{checkpoint_path}: state_dict has no 'net.*' keys")
    return write_export(out_dir, net, meta_from_state(state, int(state["table"]["sum"].numel())))
