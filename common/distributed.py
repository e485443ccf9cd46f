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


def close_process_group() -> None:
    """Tear the process group down at the end of a run that finished on every rank.

    Without it a gloo rank can die with SIGABRT ("terminate called without an active
    exception") while the interpreter exits with gloo's worker threads still alive (seen once in
    CI's two-process pretraining test; pytorch#190489). The barrier first: no rank tears down
    while another is still in its last collective. Call it on success only: after an error the
    other ranks may never reach the barrier, and process exit releases the group.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
