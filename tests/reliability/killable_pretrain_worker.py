"""Run by test_fault_injection.py: one attempt of a tiny pretraining that the test kills.

    python killable_pretrain_worker.py WORK_DIR FAULT AT CONFIG OPTIONS_JSON

Trains (always with resume=True, so each attempt continues the previous one) the tiny config
of test_fault_injection.CONFIG. FAULT makes this process kill itself with SIGKILL (no cleanup,
like `kill -9` or a lost node) at an exact point of a save, the `AT`-th time it gets there:
  none            no injected fault (the test may still kill it from outside at a random time)
  mid_checkpoint  halfway through writing a checkpoint's bytes (its temporary file stays behind)
  before_pointer  the checkpoint is complete, `last_checkpoint` not yet updated
  before_remove   checkpoint and pointer written, the outdated checkpoint not yet removed
  mid_export      backbone.pth of the export written, backbone.json not yet
It prints "training" once the Runner is built, so the test can time its outside kills.
"""

import json
import os
import signal
import sys

from mmengine.fileio import LocalBackend

import common.backbone
import common.checkpoints
from pretrain.config import load_config
from pretrain.trainer import train

FAULTS = ("none", "mid_checkpoint", "before_pointer", "before_remove", "mid_export")


def die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def inject(fault: str, at: int) -> None:
    calls = {"n": 0}

    def due() -> bool:
        calls["n"] += 1
        return calls["n"] == at

    if fault == "mid_checkpoint":
        original_put = common.checkpoints.AtomicLocalBackend.put

        def put(self, obj, filepath):
            if due():
                with common.checkpoints.atomic_path(filepath) as tmp:
                    tmp.write_bytes(obj[: len(obj) // 2])
                    die()
            return original_put(self, obj, filepath)

        common.checkpoints.AtomicLocalBackend.put = put
    elif fault == "before_pointer":
        original_atomic_path = common.checkpoints.atomic_path

        def atomic_path(path):
            if str(path).endswith(common.checkpoints.POINTER) and due():
                die()
            return original_atomic_path(path)

        common.checkpoints.atomic_path = atomic_path
    elif fault == "before_remove":
        original_remove = LocalBackend.remove

        def remove(self, filepath):
            if due():
                die()
            return original_remove(self, filepath)

        LocalBackend.remove = remove
    elif fault == "mid_export":
        original_write_json = common.backbone.write_json_atomic

        def write_json_atomic(path, obj):
            if due():
                die()
            return original_write_json(path, obj)

        common.backbone.write_json_atomic = write_json_atomic


def main(work_dir: str, fault: str, at: int, config: str, options: str) -> None:
    if fault not in FAULTS:
        raise SystemExit(f"unknown fault {fault!r}; known: {FAULTS}")
    inject(fault, at)
    cfg = load_config(config, json.loads(options))
    print("training", flush=True)
    train(cfg, work_dir, resume=True)
    print("finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
