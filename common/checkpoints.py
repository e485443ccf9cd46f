"""Crash-safe training checkpoints for both stages (mmengine's CheckpointHook, made safe).

mmengine 0.10.7's CheckpointHook (a) deletes the oldest kept checkpoint *before* writing the new
one, so with max_keep_ckpts=1 a kill in between leaves nothing to resume from; (b) writes the
`last_checkpoint` pointer with a plain open/write, so a kill leaves it empty; and its
`find_latest_checkpoint` then hands "" to `Runner.resume`, which fails although intact
checkpoints lie beside it. Here:
  - every checkpoint is written to a temporary file and renamed (AtomicLocalBackend), with the
    usual file mode (common.files);
  - the pointer is written the same way, after the checkpoint is complete;
  - the checkpoints beyond max_keep_ckpts are removed only after that;
  - leftover temporary files of a killed save are removed when training starts;
  - `latest_intact_checkpoint` picks what to resume from: the newest checkpoint that reads back
    intact, whatever the pointer says, and says so when that is not the pointer's target.

No checkpoint is ever unpickled with code: `safe_load` is torch.load(weights_only=True) with the
few plain types a training checkpoint holds besides tensors allowlisted (numpy arrays and
scalars, mmengine's HistoryBuffer), and it replaces mmengine's loader of local files, so
`Runner.resume`, `load_from` and `init_cfg=Pretrained` load the same way (mmengine 0.10.7 calls
torch.load without weights_only, which on torch 2.4 unpickles anything: a downloaded
checkpoint could run code). A pickle that names anything else is refused (UnsafeCheckpoint).
"""

from __future__ import annotations

import os
import pickle
import re
import zipfile
from pathlib import Path

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.registry import HOOKS
from mmengine.runner.checkpoint import CheckpointLoader

from common.files import atomic_path, remove_leftover_temporaries

POINTER = "last_checkpoint"
CHECKPOINT_NAME = re.compile(r"^(epoch|iter)_(\d+)\.pth$")  # mmengine's filename_tmpl for both modes


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, but every write goes to a temp file and is renamed:
    a run killed mid-save leaves the previous checkpoint intact, never a truncated one."""

    def put(self, obj: bytes, filepath) -> None:
        with atomic_path(filepath) as tmp:
            tmp.write_bytes(obj)

    def put_text(self, obj: str, filepath, encoding: str = "utf-8") -> None:
        self.put(obj.encode(encoding), filepath)


register_backend("atomic_local", AtomicLocalBackend, force=True)
ATOMIC_BACKEND = {"backend": "atomic_local"}


class UnsafeCheckpoint(ValueError):
    """A checkpoint whose pickle names code (a function or class beyond tensors and plain data):
    refused without running it."""


HISTORY_STATISTICS = ("min", "max", "current", "mean")  # HistoryBuffer's own, pickled by name


def _history_buffer_statistic(owner, name: str):
    """Stands in for `getattr` when unpickling: a HistoryBuffer pickles its statistics methods
    as getattr(HistoryBuffer, "min"); any other getattr (a way to reach code) is refused."""
    from mmengine.logging import HistoryBuffer

    if owner is HistoryBuffer and name in HISTORY_STATISTICS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f"Unsupported global: GLOBAL getattr({owner!r}, {name!r}) was not an allowed "
                                 "global by default")


# the name a pickle gives it (protocol 2 writes __builtin__.getattr; torch maps it to builtins)
_history_buffer_statistic.__module__, _history_buffer_statistic.__name__ = "builtins", "getattr"


def _checkpoint_types() -> list:
    """The non-tensor types mmengine's checkpoints hold (its message hub's HistoryBuffer and the
    names of its statistics, numpy arrays and scalars of the logs and dataset_meta, bytes as
    protocol 2 pickles them). None of them runs code when rebuilt."""
    import _codecs

    import numpy as np
    from mmengine.logging import HistoryBuffer

    return [HistoryBuffer, _history_buffer_statistic, np.core.multiarray._reconstruct, np.core.multiarray.scalar,
            np.ndarray, np.dtype, _codecs.encode, *{type(np.dtype(c)) for c in "?bBhHiIlLqQefdgFDGUSO"}]


def _is_torchscript(path: Path) -> bool:
    """torch.load hands a TorchScript archive to torch.jit.load, even with weights_only=True."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("constants.pkl") for name in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def safe_load(path: str | os.PathLike, map_location="cpu"):
    """torch.load(path, weights_only=True), the types of `_checkpoint_types` allowed; a pickle
    naming anything else (code) raises UnsafeCheckpoint naming the file and what it names."""
    import torch

    torch.serialization.add_safe_globals([t for t in _checkpoint_types()
                                          if t not in torch.serialization.get_safe_globals()])
    if _is_torchscript(Path(path)):
        raise UnsafeCheckpoint(f"refused to load {path}: a TorchScript archive (code), not a checkpoint")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+) was not an allowed global|unsupported class (.+)$|unrecognized function (.+)$"
                          r"|Unsupported operand (\S+)", str(exc), re.MULTILINE)
        what = next((g for g in found.groups() if g), "") if found else ""
        raise UnsafeCheckpoint(
            f"refused to load {path}: its pickle names {what or 'something'} beyond tensors and plain data, "
            "which unpickling would run; checkpoints are only loaded with torch.load(weights_only=True). "
            "Use a checkpoint written by this suite, or export the weights you trust as a state dict of "
            "tensors") from None


def _load_from_local_safely(filename, map_location):
    """mmengine's `load_from_local` (the loader of plain paths), with safe_load."""
    filename = os.path.expanduser(filename)
    if not os.path.isfile(filename):
        raise FileNotFoundError(f"{filename} can not be found.")
    return safe_load(filename, map_location)


CheckpointLoader.register_scheme(prefixes="", loader=_load_from_local_safely, force=True)


@HOOKS.register_module(force=True)
class SafeCheckpointHook(CheckpointHook):
    """CheckpointHook that writes the new checkpoint and the pointer atomically before it removes
    any old checkpoint (mmengine's order is the reverse). Takes CheckpointHook's arguments."""

    def __init__(self, *args, **kwargs):
        if kwargs.get("backend_args") is None and kwargs.get("file_client_args") is None:
            kwargs["backend_args"] = dict(ATOMIC_BACKEND)
        super().__init__(*args, **kwargs)

    def before_train(self, runner) -> None:
        if is_main_process():
            for path in remove_leftover_temporaries(runner.work_dir):
                runner.logger.warning(f"removed {path}, the temporary file of a save that did not finish")
        super().before_train(runner)  # after a resume: keep_ckpt_ids as of the resumed checkpoint
        if is_main_process() and self.max_keep_ckpts > 0 and self.keep_ckpt_ids:
            # a kill between a save and its removals leaves older checkpoints no list knows of
            oldest_kept = min(self.keep_ckpt_ids)
            for path in Path(self.out_dir).glob("*.pth"):
                step = checkpoint_step(path)
                if step is not None and step < oldest_kept and path.name == self.filename_tmpl.format(step):
                    path.unlink()
                    runner.logger.info(f"removed {path}, older than the {self.max_keep_ckpts} checkpoint(s) "
                                       "to keep (max_keep_ckpts; its removal was interrupted)")

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info("last_ckpt", self.last_ckpt)
        outdated = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            # mmengine's bookkeeping (the deque's maxlen is max_keep_ckpts), but the file of the
            # step that falls out is only collected here and removed after the new save
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))

        runner.save_checkpoint(self.out_dir, ckpt_filename, self.file_client_args,
                               save_optimizer=self.save_optimizer,
                               save_param_scheduler=self.save_param_scheduler, meta=meta,
                               by_epoch=self.by_epoch, backend_args=self.backend_args, **self.args)
        if not is_main_process():
            return
        with atomic_path(Path(runner.work_dir) / POINTER) as tmp:
            tmp.write_text(str(self.last_ckpt))
        for old_step in outdated:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):  # deepspeed saves directories
                self.file_backend.rmtree(path)


def is_intact(path: str | os.PathLike) -> bool:
    """True if the checkpoint file reads back: torch's zip format with every member's CRC right
    (no unpickling, so cheap next to training); a legacy file is loaded in full (safe_load: one
    that names code is not intact)."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return False
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                return archive.testzip() is None
        except (zipfile.BadZipFile, OSError, EOFError):
            return False
    try:
        safe_load(path)
    except Exception:  # any failure to read it back means: not usable for resuming
        return False
    return True


def checkpoint_step(path: str | os.PathLike) -> int | None:
    """N of epoch_N.pth / iter_N.pth, None for other files."""
    match = CHECKPOINT_NAME.match(Path(path).name)
    return int(match.group(2)) if match else None


def latest_intact_checkpoint(work_dir: str | os.PathLike, log=lambda message: None) -> str | None:
    """The checkpoint to resume from: the newest intact epoch_N.pth / iter_N.pth of `work_dir`
    (or the pointer's target, if it is newer and intact). None when there is none. Says through
    `log` when the pointer is missing, empty, damaged or behind, and which file it used instead."""
    work_dir = Path(work_dir)
    pointer = work_dir / POINTER
    target = None
    if pointer.is_file():
        target = pointer.read_text().strip() or None
    candidates = sorted((p for p in work_dir.glob("*.pth") if checkpoint_step(p) is not None),
                        key=checkpoint_step, reverse=True)
    if target is not None and Path(target) not in candidates:
        candidates.insert(0, Path(target))
    damaged = []
    chosen = None
    for candidate in candidates:
        if is_intact(candidate):
            chosen = candidate
            break
        damaged.append(str(candidate))
    if damaged:
        log(f"skipped damaged or unreadable checkpoint(s) {damaged}")
    if chosen is None:
        if target is not None or damaged:
            log(f"no intact checkpoint in {work_dir} to resume from (pointer {pointer}: {target!r})")
        return None
    if target is None:
        why = "missing" if not pointer.is_file() else "empty"
        log(f"{pointer} is {why}; resuming from the newest intact checkpoint {chosen}")
    elif Path(target) != chosen:
        log(f"{pointer} points at {target}; resuming from the newest intact checkpoint {chosen}")
    return str(chosen)

