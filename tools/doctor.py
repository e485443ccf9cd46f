"""Check that the installed stack can run the suite; say clearly what is wrong otherwise.

Prints versions; runs mmcv's compiled nms and RoIAlign on CPU tensors; says whether torch sees
a GPU and whether mmcv's ops have CUDA kernels (then runs nms on the GPU); imports the mmdet,
mmseg and mmpose model modules; builds the model of each tiny transfer task and a stage-1
backbone. Exit code 0 only when every check passes.

    make doctor      (or .venv/bin/python tools/doctor.py)
"""

import sys
import time
import traceback
from pathlib import Path

import _bootstrap  # noqa: F401  (before any project import; see tools/_bootstrap.py)

CHECKS = []


def check(name):
    def register(fn):
        CHECKS.append((name, fn))
        return fn
    return register


@check("versions (pinned in requirements.txt)")
def versions():
    from common.provenance import versions as installed

    found = installed()
    pins = {}
    for line in (Path(__file__).resolve().parents[1] / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.lower()] = version
    wrong = [f"{k} {v} (pinned {pins[k]})" for k, v in found.items()
             if k in pins and not v.startswith(pins[k])]
    if wrong:
        raise RuntimeError("installed versions differ from requirements.txt: " + ", ".join(wrong)
                           + "; run `make setup-force`")
    return ", ".join(f"{k} {v}" for k, v in found.items())


@check("numpy 1.x (the xtcocotools wheel is built against numpy 1)")
def numpy_one():
    import numpy

    if not numpy.__version__.startswith("1."):
        raise RuntimeError(f"numpy {numpy.__version__}: some step upgraded it; run `make setup-force`")
    import xtcocotools.coco  # noqa: F401  (fails with 'numpy.dtype size changed' under numpy 2)
    return numpy.__version__


@check("mmcv compiled ops on CPU: nms, RoIAlign")
def mmcv_ops():
    import torch
    from mmcv.ops import RoIAlign, nms

    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7])
    _, keep = nms(boxes, scores, iou_threshold=0.5)
    if keep.tolist() != [0, 2]:
        raise RuntimeError(f"nms kept {keep.tolist()}, expected [0, 2]")
    feats = torch.arange(64, dtype=torch.float32).reshape(1, 1, 8, 8)
    rois = torch.tensor([[0, 0, 0, 4, 4]], dtype=torch.float32)
    out = RoIAlign((2, 2), spatial_scale=1.0, sampling_ratio=2)(feats, rois)
    if out.shape != (1, 1, 2, 2) or not torch.isfinite(out).all():
        raise RuntimeError(f"RoIAlign returned {tuple(out.shape)}")
    return "nms and RoIAlign ran"


@check("GPU: torch's CUDA, the GPUs it sees, mmcv's ops compiled with CUDA")
def gpu():
    import os
    import shutil
    import subprocess

    import torch
    from mmcv.ops import get_compiling_cuda_version, nms

    mmcv_cuda = get_compiling_cuda_version()  # "not available" for a CPU-only build of the ops
    mmcv_line = ("mmcv ops without CUDA kernels (CPU build)" if mmcv_cuda == "not available"
                 else f"mmcv ops with CUDA {mmcv_cuda} kernels")
    listed = ""
    if shutil.which("nvidia-smi"):
        gpus = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.strip().splitlines()
        listed = f"; nvidia-smi lists {len(gpus)} GPU(s)"
    nvcc = shutil.which("nvcc") or (os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc")
                                    if os.environ.get("CUDA_HOME") else None)
    nvcc_line = ""
    if nvcc and os.path.exists(nvcc):
        release = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
        nvcc_line = "; nvcc " + (release.split("release ")[1].split(",")[0] if "release " in release else "?")
    torch_line = f"torch {torch.__version__} built for CUDA {torch.version.cuda}"
    if not torch.cuda.is_available():
        hidden = (" (CUDA_VISIBLE_DEVICES is set empty)" if os.environ.get("CUDA_VISIBLE_DEVICES") == ""
                  else "")
        return f"{torch_line}; torch sees no GPU{hidden}{listed}: CPU only; {mmcv_line}{nvcc_line}"
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
    if mmcv_cuda == "not available":
        raise RuntimeError(f"torch sees {names} but {mmcv_line}: detection on the GPU fails in nms/RoIAlign; "
                           "rebuild mmcv with CUDA (README, GPUs: `make setup-force` with nvcc "
                           f"{torch.version.cuda.split('.')[0]}.x on PATH){nvcc_line}")
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]], dtype=torch.float32, device="cuda")
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7], device="cuda"), iou_threshold=0.5)
    if keep.tolist() != [0, 2]:
        raise RuntimeError(f"nms on the GPU kept {keep.tolist()}, expected [0, 2]")
    return f"{torch_line}; torch sees {names}; {mmcv_line}: nms ran on the GPU{nvcc_line}"


@check("toolbox model modules import (mmdet, mmseg, mmpose)")
def toolbox_imports():
    import mmdet.models  # noqa: F401
    import mmpose.models  # noqa: F401
    import mmseg.models  # noqa: F401

    return "ok"


@check("a small model of each toolbox builds (the tiny transfer tasks)")
def toolbox_models():
    from mmengine.config import Config

    from transfer.build import build_in_scope
    from transfer.tasks import TASKS

    built = []
    for name, task in TASKS.items():
        if not name.endswith("_tiny") or task.scope == "torchvision":  # no toolbox: transfer/classification.py
            continue
        cfg = Config.fromfile(str(task.config))
        model = build_in_scope(cfg.model, task.scope)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        built.append(f"{name} {type(model).__name__} {params:.1f}M")
    return "; ".join(built)


@check("a stage-1 backbone builds and runs (ResNet-18, torchvision layout)")
def stage1_model():
    import torch

    from pretrain.models import build_network

    net = build_network("resnet18", 8).eval()
    with torch.no_grad():
        out = net(torch.zeros(1, 3, 32, 32))
    return f"logits {tuple(out.shape)}"


def main() -> int:
    failed = 0
    for name, fn in CHECKS:
        t = time.perf_counter()
        try:
            detail = fn()
            print(f"[ OK ] {name}: {detail}  ({time.perf_counter() - t:.1f} s)")
        except Exception as exc:  # report every failing check, not just the first
            failed += 1
            print(f"[FAIL] {name}: {type(exc).__name__}: {exc}")
            print("       " + traceback.format_exc().strip().splitlines()[-3].strip())
    print("doctor: all checks passed" if not failed else f"doctor: {failed} check(s) FAILED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
