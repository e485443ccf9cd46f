"""A run's work dir belongs to one config: never overwritten silently, never resumed with another.

Both stages call `claim_work_dir` before they train:
  - a work dir that already holds a run (checkpoints, an export or results; a config record
    alone, of a run that stopped before it produced anything, does not count) is refused
    unless the caller resumes it (`--resume`) or replaces it (`--overwrite`, which clears the
    directory first);
  - `--resume` of a run that holds checkpoints compares the config now with the one recorded
    when the run began (`config.json`) and refuses a change, naming every changed key: a resumed run would train
    with the old values (they are in its checkpoint) while its outputs recorded the new ones.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from common.files import write_json_atomic

CONFIG_RECORD = "config.json"
# What marks a directory as holding a run: checkpoints and their pointer, a stage-1 export, a
# stage-2 results.json.
RUN_MARKERS = ("last_checkpoint", "export", "results.json")
# Written into a cell's directory by the pipeline before the run starts; not a run's output.
NOT_RUN_FILES = {".lock", "status.json", "pipeline.log", "error.txt"}


class WorkDirInUse(RuntimeError):
    """The work dir holds another run, or the run with another config."""


def holds_a_run(work_dir: Path) -> bool:
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return False
    return any((work_dir / m).exists() for m in RUN_MARKERS) or any(work_dir.glob("*.pth"))


def flatten(obj, prefix: str = "") -> dict:
    """{"a.b.c": leaf} for nested dicts; lists are leaves."""
    if isinstance(obj, dict) and obj:
        out = {}
        for key, value in obj.items():
            out.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: obj}


def changed_keys(old: dict, new: dict) -> list[str]:
    """Dotted keys whose values differ, or that exist on one side only: `a.b (1 -> 2)`."""
    before, after = flatten(old), flatten(new)
    changes = []
    for key in sorted(set(before) | set(after)):
        if key not in after:
            changes.append(f"{key} (removed, was {before[key]!r})")
        elif key not in before:
            changes.append(f"{key} (added: {after[key]!r})")
        elif before[key] != after[key]:
            changes.append(f"{key} ({before[key]!r} -> {after[key]!r})")
    return changes


def claim_work_dir(work_dir: str | os.PathLike, config: dict, resume: bool, overwrite: bool,
                   write: bool = True) -> None:
    """Check that this run may use `work_dir` (see the module docstring); record its config.

    `config` is plain JSON-able data. `write=False` checks only (for every process but the
    first of a distributed run). Raises WorkDirInUse with what to do instead.
    """
    work_dir = Path(work_dir)
    record = work_dir / CONFIG_RECORD
    if overwrite:
        if write and work_dir.is_dir():
            for entry in work_dir.iterdir():
                if entry.name in NOT_RUN_FILES:
                    continue
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    elif holds_a_run(work_dir):
        if not resume:
            raise WorkDirInUse(
                f"{work_dir} already holds a run; nothing was changed. Continue it with --resume, "
                f"choose a new --work-dir, or replace it with --overwrite")
        if record.is_file():
            try:
                recorded = json.loads(record.read_text())
            except json.JSONDecodeError as exc:
                raise WorkDirInUse(f"{record} is not valid JSON ({exc}); cannot tell whether --resume "
                                   "continues the same config. Use a new --work-dir or --overwrite") from exc
            changes = changed_keys(recorded, config)
            if changes:
                raise WorkDirInUse(
                    f"--resume with a changed config: {'; '.join(changes)} (recorded in {record}). "
                    "The checkpoint holds the old values; resume with the recorded config, or start "
                    "a new run (a new --work-dir, or --overwrite)")
    if write:
        write_json_atomic(record, config)
