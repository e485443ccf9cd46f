"""Mixed precision for both stages: which dtype, and mmengine's AMP optimizer wrapper on CPU too.

On a GPU both stages use mmengine's own `AmpOptimWrapper` exactly as the toolboxes' `--amp`
does (float16 autocast, dynamic loss scaling). mmengine's wrapper refuses to be built without
an accelerator (an assert in its __init__), while torch autocasts on the CPU in bfloat16; so on
the CPU the same wrapper is built with bfloat16 and no loss scaler (bfloat16 has float32's
exponent range: nothing underflows that scaling would rescue). That is what the CPU tests run.
"""

from __future__ import annotations

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS

CPU_AMP_WRAPPER = "CpuAmpOptimWrapper"


def amp_dtype(cuda: bool | None = None) -> str:
    """The autocast dtype: float16 (with loss scaling) on a GPU, bfloat16 on the CPU."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    return "float16" if cuda else "bfloat16"


def amp_wrapper_config(cuda: bool | None = None) -> dict:
    """The optim_wrapper fields `--amp` sets: the toolboxes' own on a GPU, the CPU twin otherwise."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if cuda:  # what mmdet/mmseg/mmpose tools/train.py --amp set
        return {"type": "AmpOptimWrapper", "loss_scale": "dynamic"}
    return {"type": CPU_AMP_WRAPPER, "dtype": "bfloat16"}


@OPTIM_WRAPPERS.register_module(name=CPU_AMP_WRAPPER, force=True)
class CpuAmpOptimWrapper(AmpOptimWrapper):
    """mmengine's AmpOptimWrapper on the CPU: bfloat16 autocast, a disabled (pass-through)
    GradScaler. Everything else, including `optim_context`'s autocast, is mmengine's."""

    def __init__(self, loss_scale="dynamic", dtype="bfloat16", use_fsdp: bool = False, **kwargs):
        if dtype not in ("bfloat16", torch.bfloat16):
            raise ValueError(f"CPU autocast runs in bfloat16 only, got dtype={dtype!r}")
        OptimWrapper.__init__(self, **kwargs)  # skips AmpOptimWrapper's GPU-only assert
        self._scale_update_param = None
        # enabled=False: scale() returns the loss, step() is the optimizer's step, no state
        self.loss_scaler = torch.amp.GradScaler("cuda", enabled=False)
        self.cast_dtype = torch.bfloat16


def amp_optim_wrapper(optimizer: torch.optim.Optimizer, cuda: bool | None = None) -> OptimWrapper:
    """An AMP optimizer wrapper for `optimizer`: mmengine's AmpOptimWrapper (float16, dynamic loss
    scaling) on a GPU, its CPU twin in bfloat16 otherwise."""
    cuda = torch.cuda.is_available() if cuda is None else cuda
    if cuda:
        return AmpOptimWrapper(optimizer=optimizer, loss_scale="dynamic", dtype="float16")
    return CpuAmpOptimWrapper(optimizer=optimizer, dtype="bfloat16")
