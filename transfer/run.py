"""One transfer run: build the config, check the backbone and the data, train, test, record.

`run_transfer(request)` is what `tools/transfer.py` and the pipeline call, with one
transfer.request.TransferRequest:
  build_run (transfer.build: config + backbone contract, keys and arch)
  -> dry run: build the model, run its init_weights, check every backbone tensor equals the
     checkpoint, stop (no data read)
  -> otherwise: check the data files (transfer.data), Runner.from_cfg, register the hook that
     re-checks the backbone after the Runner's init_weights, runner.train(), runner.test(),
     then results.json (common.results) in the work dir, written by the main process.
"""

from __future__ import annotations

import copy
import os
import tempfile
import time
from pathlib import Path

import torch
from mmengine.hooks import Hook

from common.checkpoints import latest_intact_checkpoint
from common.distributed import init_cpu_process_group
from common.errors import check_finite_loss
from common.files import write_json_atomic
from common.provenance import to_plain, versions
from common.results import TransferResults
from common.timing import LoopTimerHook, PhaseClock, format_timing, import_toolbox
from common.vocab import FAMILY_METRICS, RANDOM_INIT, RESULTS_FILE
from transfer.build import RUN_SPECIFIC_KEYS, RunSpec, build_in_scope, build_run, protocol_of, recipe_hash
from transfer.classification import run_classification
from transfer.contract import VerifyBackboneHook, verify_pretrained_parts
from transfer.data import check_data, name_unreadable_files
from transfer.request import TORCHVISION_SCOPE, TransferRequest, claim, dump_config
from transfer.resume import ExactResumeHook
from transfer.schedule import recorded_schedule
from transfer.tasks import get_task


class FiniteLossHook(Hook):
    """Stop a fine-tuning run at its first non-finite loss, naming the iteration. The toolboxes
    train on through NaN and test a poisoned model (a detector then finds nothing: AP 0), which
    would pass for a result. Checkpoints saved before that iteration are intact."""

    priority = "HIGHEST"  # before the checkpoint hook can save the poisoned weights

    def __init__(self, task: str):
        self.task = task

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        check_finite_loss(outputs, f"task {self.task}", f"iteration {runner.iter + 1}", runner.work_dir,
                          "lower the lr, lengthen the warm-up or clip the gradients: optim_wrapper.clip_grad")


def run_transfer(request: TransferRequest) -> dict:
    """Fine-tune `request.backbone` (an export, a .pth, or "none") on `request.task`; return the
    results dict (results.json, common.results), or with `request.dry_run` a summary.

    A work dir that holds a run is refused unless `resume` (continue it: from its newest intact
    checkpoint, common.checkpoints, and only with the config it began with) or `overwrite`
    (clear it first); common.workdir, on every task (transfer.request). The backbone contract
    of a resumed run was checked when that run started.

    `dry_run`: build config and model, apply the backbone contract, return a summary (no data is
    read; nothing is written but `dump_config`).
    `amp`: mixed precision (transfer.build.build_run), recorded in results.json `protocol.amp`.
    `dump_config`: write the run's effective config (all `_base_` levels, overrides, backbone
    init, seed, work dir) as one mmengine Python config file.
    `schedule`: "1x" (the task config's own), "2x", "3x" or "6x" for a detection task
    (transfer.schedule); results.json's protocol records it.
    """
    started = time.perf_counter()
    clock = PhaseClock()  # where the time goes: results.json `timing`
    task_spec = get_task(request.task)
    if task_spec.scope == TORCHVISION_SCOPE:  # no mmengine Runner: a plain torchvision loop
        return run_classification(request, task_spec)
    if request.dry_run:
        # a GroupNorm export renamed to the toolbox's layout goes to a temporary directory:
        # a dry run writes nothing into the work dir
        with tempfile.TemporaryDirectory(prefix="transfer_dry_run_") as layout_dir:
            spec = build_run(request, layout_dir=layout_dir)
            _dump(request, spec)
            return dry_run_summary(spec)
    with clock.phase("toolbox_import_s"):  # once per process: later cells find the modules imported
        import_toolbox(task_spec.scope)
    with clock.phase("build_config_s"):
        spec = build_run(request)
    _dump(request, spec)

    launcher = request.launcher
    # before reading the data: a finished run is never overwritten, a resumed one never changed
    claim(request, spec.work_dir, run_record(spec), write=False)
    if launcher != "none" and not torch.cuda.is_available():
        init_cpu_process_group(launcher)
    if _is_first_process_on_node(launcher):
        # Each process would read the full annotation files otherwise (COCO train: GBs).
        with clock.phase("check_data_s"):
            check_data(spec.cfg, spec.task.scope)
    from mmengine.dist import is_main_process

    # the data is fine: record the config (or clear the work dir for --overwrite) and start
    claim(request, spec.work_dir, run_record(spec), write=_is_first_process(launcher))

    config_hash = recipe_hash(spec.cfg)
    runner, loop_timer = _build_runner(request, spec, clock)
    protocol, notes = _protocol_and_notes(spec, runner)
    loop_timer.train_called = time.perf_counter()
    runner.train()
    protocol["train_iters"] = int(runner.iter)  # measured: the AP-vs-iterations axis
    metrics, per_class = _test(spec, runner, loop_timer, notes)

    results = TransferResults(
        task=spec.task.name, arm=spec.arm, seed=spec.seed, backbone=spec.backbone,
        pretrain=spec.pretrain, metrics=metrics, per_class=per_class,
        protocol=protocol,
        backbone_contract=_contract_record(spec), notes=tuple(notes), config_hash=config_hash,
        versions=versions(), wall_clock_s=time.perf_counter() - started,
        work_dir=str(spec.work_dir), timing={**clock.record(), **loop_timer.summary(),
                                             "threads": torch.get_num_threads()}).to_json()
    if is_main_process():
        write_json_atomic(spec.work_dir / RESULTS_FILE, results)
        runner.logger.info(f"transfer: timing: {format_timing(results['timing'])}")
        runner.logger.info(f"transfer: wrote {spec.work_dir / RESULTS_FILE}")
    return results


def _build_runner(request: TransferRequest, spec: RunSpec, clock: PhaseClock) -> tuple:
    """The Runner of a checked run, resumed from the newest intact checkpoint with --resume, with
    the suite's hooks: loop timing, the stop at a non-finite loss, exact resume, and the backbone
    check after init_weights; (runner, its LoopTimerHook)."""
    from mmengine.runner import Runner

    resume_from = latest_intact_checkpoint(spec.work_dir, log=lambda m: print(f"resume: {m}", flush=True)) \
        if request.resume else None
    runner_cfg = copy.deepcopy(spec.cfg)
    if resume_from is not None:  # after build_run's offline check, which refuses these in configs
        runner_cfg.resume, runner_cfg.load_from = True, resume_from
    # mmengine's CheckpointHook deletes before it saves and writes its pointer non-atomically
    if "checkpoint" in (runner_cfg.get("default_hooks") or {}):
        runner_cfg.default_hooks.checkpoint.type = "SafeCheckpointHook"
    with clock.phase("check_data_s"):
        name_unreadable_files(runner_cfg)  # a truncated image or label: a DataError naming it
    with clock.phase("runner_build_s"):
        runner = Runner.from_cfg(runner_cfg)
    loop_timer = LoopTimerHook()
    runner.register_hook(loop_timer)
    runner.register_hook(FiniteLossHook(spec.task.name))
    runner.register_hook(ExactResumeHook())  # generator states in checkpoints: a resume continues exactly
    if spec.checkpoint is not None:
        runner.register_hook(VerifyBackboneHook(spec.checkpoint, spec.pretrain["path"]))
    spec.checkpoint = None  # the hook holds the only copy and drops it after checking
    runner.logger.info(f"transfer: task {spec.task.name}, arm {spec.arm}, seed {spec.seed}, "
                       f"backbone {spec.backbone}; contract: {_contract_line(spec)}")
    return runner, loop_timer


def _protocol_and_notes(spec: RunSpec, runner) -> tuple[dict, list[str]]:
    """results.json's protocol of this run (the task config's, the processes and their batch),
    and the notes a reader must see (a batch the lr is not scaled to); both also logged."""
    pretrain_norm = spec.pretrain.get("normalization") or {}
    task_norm = protocol_of(spec.cfg, spec.task.family)
    if pretrain_norm and [pretrain_norm.get("mean"), pretrain_norm.get("std")] != [
            task_norm["mean"], task_norm["std"]]:
        # By design (every arm gets the task's statistics), but worth seeing in the log.
        runner.logger.warning(f"stage 1 normalized with {pretrain_norm}; this task uses its "
                              f"own mean {task_norm['mean']} std {task_norm['std']}")
    protocol = {**protocol_of(spec.cfg, spec.task.family), "world_size": runner.world_size}
    protocol["effective_batch_size"] = runner.world_size * protocol["batch_size_per_process"]
    notes = []
    reference = protocol["reference_batch_size"]
    if reference and protocol["effective_batch_size"] != reference and not protocol["lr_scaled"]:
        notes.append(f"effective batch {protocol['effective_batch_size']} ({runner.world_size} process(es) x "
                     f"{protocol['batch_size_per_process']}) differs from the recipe's {reference}; the lr is "
                     "not scaled (--auto-scale-lr scales it linearly)")
        runner.logger.warning(f"transfer: {notes[-1]}")
    return protocol, notes


def _test(spec: RunSpec, runner, loop_timer: LoopTimerHook, notes: list[str]) -> tuple[dict, dict | None]:
    """The trained model's test metrics (the same on every process) and per-class table."""
    from mmengine.dist import broadcast_object_list

    loop_timer.test_called = time.perf_counter()
    metrics = runner.test()  # the same on every process (mmengine broadcasts them)
    if not metrics and spec.task.family in ("detection", "instance_segmentation"):
        # mmdet's CocoMetric returns nothing when the model detected nothing (a diverged or
        # barely trained run). Precision-recall then has no point above recall 0: AP and AR
        # are 0 by COCO's definition. Record that, and say so, instead of failing the run.
        metrics = {name: 0.0 for name in FAMILY_METRICS[spec.task.family]}
        notes.append("the model produced no detections on the test set: COCO metrics set to 0")
        runner.logger.warning(f"transfer: {notes[-1]}")
    per_class = [per_class_of(runner)]  # only the main process computed the table
    broadcast_object_list(per_class)
    return metrics, per_class[0]


def _dump(request: TransferRequest, spec: RunSpec) -> None:
    dump_config(request, spec.cfg, f"effective config of task {spec.task.name}, arm {spec.arm}, seed "
                                   f"{spec.seed} (config hash {recipe_hash(spec.cfg)})")


def dry_run_summary(spec: RunSpec) -> dict:
    """Build the model, init its weights as the Runner would, verify the backbone; summarize."""
    model = build_in_scope(spec.cfg.model, spec.task.scope)
    model.init_weights()  # loads the Pretrained backbone exactly as Runner.train() would
    checked = 0
    if spec.checkpoint is not None:
        checked = verify_pretrained_parts(model, spec.checkpoint, spec.pretrain["path"])
    return {
        "dry_run": True, "task": spec.task.name, "arm": spec.arm, "seed": spec.seed,
        "backbone": spec.backbone, "arch": spec.pretrain["arch"],
        "model": type(model).__name__,
        "num_params": sum(p.numel() for p in model.parameters()),
        "backbone_tensors_verified": checked,
        "unexpected_checkpoint_keys": spec.contract.get("unexpected", []),
        "protocol": protocol_of(spec.cfg, spec.task.family), "config_hash": recipe_hash(spec.cfg),
        "work_dir": str(spec.work_dir),
        **({"schedule": recorded_schedule(spec.cfg).describe()}
           if "schedule" in protocol_of(spec.cfg, spec.task.family) else {}),
    }


def per_class_of(runner) -> dict | None:
    """The per-class table a PerClassIoUMetric kept during the test, if any."""
    for metric in runner.test_evaluator.metrics:
        table = getattr(metric, "per_class", None)
        if table:
            return table
    return None


def _contract_record(spec: RunSpec) -> dict:
    return {"tensors_loaded": len(spec.contract.get("loaded", [])),
            "unexpected_keys": spec.contract.get("unexpected", [])}


def _contract_line(spec: RunSpec) -> str:
    if spec.arm == RANDOM_INIT:
        return "random init, nothing loaded"
    unexpected = spec.contract.get("unexpected", [])
    return (f"{len(spec.contract['loaded'])} backbone tensors to load from "
            f"{Path(spec.pretrain['path'])}, {len(unexpected)} unused checkpoint keys"
            + (f" {unexpected}" if unexpected else ""))


def run_record(spec: RunSpec) -> dict:
    """What a resumed run must share with the run it continues (config.json in its work dir):
    task, backbone file and the resolved config, without where and as which process it runs."""
    plain = to_plain(spec.cfg.to_dict())
    for key in RUN_SPECIFIC_KEYS:
        plain.pop(key, None)
    return {"task": spec.task.name, "backbone": spec.backbone, "seed": spec.seed, "config": plain}


def _is_first_process(launcher: str) -> bool:
    if launcher == "none":
        return True
    return os.environ.get("RANK", os.environ.get("SLURM_PROCID", "0")) == "0"


def _is_first_process_on_node(launcher: str) -> bool:
    if launcher == "none":
        return True
    local_rank = os.environ.get("LOCAL_RANK", os.environ.get("SLURM_LOCALID", "0"))
    return local_rank == "0"
