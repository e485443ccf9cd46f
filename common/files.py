"""Atomic file writes: a crash or an error leaves the previous file (or none), never half of one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    mask = os.umask(0)  # the only portable way to read it is to set it
    os.umask(mask)
    return mask


class WriteFailed(OSError):
    """A write through `atomic_path` failed (e.g. the disk is full); the message names the file."""

    def __str__(self) -> str:
        return self.strerror


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds.

    The file gets the mode a plain open() would give it (0o666 minus the umask, e.g. readable by
    the group on a shared cluster), not mkstemp's private 0o600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a quota: name the file meant, not the temporary one
        if isinstance(exc, WriteFailed):
            raise
        raise WriteFailed(exc.errno, f"cannot write {path}: {exc.strerror or exc} (nothing was replaced: "
                          f"an earlier {path.name}, if any, is intact)") from exc
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_leftover_temporaries(directory: str | os.PathLike) -> list[Path]:
    """Remove the temporary files `atomic_path` leaves when its process is killed mid-write
    (`.<name>.<random>.tmp`) directly in `directory`; return what was removed. Call it only
    where no other process writes at the same time (the run's own directory, under its lock)."""
    removed = []
    for path in Path(directory).glob(f".*{TEMP_SUFFIX}"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def save_torch_atomic(path: str | os.PathLike, obj) -> None:
    """torch.save `obj` to `path` atomically. Serialized in memory first, so that a failed write
    (a full disk) is an OSError naming `path`, as with every other file (torch's own writer
    raises a RuntimeError naming an archive member)."""
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getbuffer())


def write_json_atomic(path: str | os.PathLike, obj) -> None:
    """Write `obj` as indented JSON through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")
