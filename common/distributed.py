"""The CPU process group: gloo under torchrun, for both stages' multi-process CPU runs."""

from __future__ import annotations


def init_cpu_process_group(launcher: str) -> None:
    """Start torch.distributed with gloo for a multi-process CPU run.

    mmengine 0.10.7's init_dist always calls torch.cuda.set_device, which fails without a GPU;
    the Runner skips its own init when a process group already exists.
    """
    import torch.distributed as dist

    if dist.is_initialized():
        return
    if launcher != "pytorch":
        raise ValueError(f"launcher {launcher!r} needs GPUs here (mmengine's init_dist); for a "
                         "multi-process CPU run start the processes with torchrun and "
                         "--launcher pytorch")
    dist.init_process_group(backend="gloo")  # RANK, WORLD_SIZE, MASTER_* from torchrun
