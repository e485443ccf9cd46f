"""Kill -9 a tiny pretraining again and again, at random moments and inside every step of a
save, resume it each time, and check it ends bit-identical to a run never interrupted."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("killable_pretrain_worker.py")
CONFIG = str(REPO / "configs" / "pretrain" / "resnet18_shapes_tiny_dar.py")
# 10 short epochs of a DaR run (its subset, loss table and counters are in every checkpoint);
# max_keep_ckpts=1: mmengine's own hook would delete the only checkpoint before writing the next
OPTIONS = {"arch": "resnet10", "data.num_train": 48, "data.num_val": 8, "data.image_size": 16,
           "train.epochs": 10, "train.batch_size": 16, "train.milestones": [8], "val_interval": 10,
           "log_interval": 1, "deterministic": True, "max_keep_ckpts": 1,
           "arm": dict(name="dar", warmup=2, interval=1, keep=0.75, active=3, refresh=[6])}
# The attempts, each a new process resuming the last: two killed from outside at a random
# moment, then one killed inside each step of a save, then one left to finish.
ATTEMPTS = [("none", 0, "random"), ("none", 0, "random"), ("mid_checkpoint", 1, None),
            ("before_pointer", 1, None), ("before_remove", 1, None), ("mid_export", 1, None),
            ("none", 0, None)]


def start(work_dir: Path, fault: str = "none", at: int = 0) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, str(WORKER), str(work_dir), fault, str(at), CONFIG, json.dumps(OPTIONS)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO)


def wait_for_training(proc: subprocess.Popen) -> None:
    for line in proc.stdout:
        if line.strip() == "training":
            return
    raise AssertionError("the worker ended before it started training")


def weights(path: Path) -> dict:
    state = torch.load(path, map_location="cpu", weights_only=False)
    return state.get("state_dict", state)


@pytest.mark.e2e
def test_a_run_killed_anywhere_resumes_to_bit_identical_weights(tmp_path):
    reference = start(tmp_path / "reference")
    wait_for_training(reference)
    began = time.monotonic()
    out = reference.communicate(timeout=300)[0]
    duration = time.monotonic() - began
    assert reference.returncode == 0, out[-3000:]

    work = tmp_path / "killed"
    rng = random.Random(14)
    transcript = []
    for fault, at, outside in ATTEMPTS:
        proc = start(work, fault, at)
        wait_for_training(proc)
        if outside == "random":
            time.sleep(rng.uniform(0.1, 0.3) * duration)
            proc.send_signal(signal.SIGKILL)
        out = proc.communicate(timeout=300)[0]
        transcript.append(f"--- {fault} (exit {proc.returncode})\n{out}")
        if fault != "none":
            assert proc.returncode == -signal.SIGKILL, f"the {fault} fault never fired:\n" + transcript[-1][-3000:]
    text = "\n".join(transcript)
    assert proc.returncode == 0, text[-5000:]

    # the final checkpoint and the export equal the uninterrupted run's, tensor for tensor
    for name in ("epoch_10.pth", "export/backbone.pth"):
        ref, got = weights(tmp_path / "reference" / name), weights(work / name)
        assert ref.keys() == got.keys()
        differ = [key for key in ref if not torch.equal(ref[key], got[key])]
        assert not differ, f"{name}: {len(differ)} of {len(ref)} tensors differ, e.g. {differ[:3]}"
    ref_meta = json.loads((tmp_path / "reference" / "export" / "backbone.json").read_text())
    got_meta = json.loads((work / "export" / "backbone.json").read_text())
    for key in ("history", "forwards", "backwards", "cost", "top1", "top5"):
        assert got_meta[key] == ref_meta[key], key

    # what the recovery said and left
    assert "resuming from the newest intact checkpoint" in text  # after the kill before the pointer
    assert "temporary file of a save that did not finish" in text  # after the kill mid-checkpoint
    assert not list(work.rglob("*.tmp")), "leftover temporary files"
    pointer = (work / "last_checkpoint").read_text().strip()
    assert Path(pointer).name == "epoch_10.pth"
    assert sorted(p.name for p in work.glob("*.pth")) == ["epoch_10.pth"]  # max_keep_ckpts=1, kills or not
    umask = os.umask(0)
    os.umask(umask)
    for path in (work / "epoch_10.pth", work / "export" / "backbone.pth", work / "export" / "backbone.json"):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, f"{path}: mode {oct(path.stat().st_mode)}"
