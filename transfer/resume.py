"""Exact resume of a transfer run: a run killed after a checkpoint and resumed ends with the same
weights, tensor for tensor, as one never interrupted.

What mmengine 0.10.7 restores on `resume`: the weights, the optimizer (momentum, AMP loss
scale), the parameter schedulers, the message hub and the iteration; its IterBasedTrainLoop
then advances the data loader by the iterations already trained (loading them), so the sampler
(InfiniteSampler, or DefaultSampler per epoch) is at the right position and the data loader
workers, which mmengine seeds by (seed, rank, worker id), have drawn the same augmentation
numbers. What it does not restore is the global random state of the main process: Python's
`random`, NumPy's and torch's generators. The toolboxes draw from them both in the model
(mmdet's RPN and RoI samplers: torch.randperm) and, with `num_workers=0` (the tiny tasks), in
the augmentations (RandomFlip: NumPy). A resumed run restarts them from the seed, so its flips
and sampled RoIs differ (an 8-iteration fpn_tiny run resumed at iteration 4 ended with 75 of
150 tensors different). `ExactResumeHook` closes that gap:
  - every checkpoint carries the generators' states (`rng_states`), taken when it is saved
    (after the iteration's optimizer step). mmengine saves on the first process only, so they
    are that process's: a resumed run of several processes restores none and says so (exact
    resume is for one process, the case tested);
  - on resume they are set again right before the first batch after the checkpoint is loaded
    (after mmengine's advance of the data loader, whose draws must not count), or, in an
    epoch-based loop, before the first resumed epoch starts;
  - validation during training runs on a copy of the generators (restored when it ends), so
    a validation between the checkpoint and the next batch (or its absence in the resumed run)
    changes nothing: training draws the same numbers whatever the validation interval.
"""

from __future__ import annotations

import random

import numpy as np
import torch
from mmengine.dist import get_world_size
from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

RNG_KEY = "rng_states"


def rng_states() -> dict:
    """This process's global generators: Python's, NumPy's, torch's (and CUDA's, on a GPU)."""
    states = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Set the generators `rng_states` returned (a checkpoint's: tuples may come back as lists)."""
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    np.random.set_state(tuple(states["numpy"]))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


class _RestoreAfterAdvance:
    """The loop's data iterator; sets `states` right before the batch that follows the first
    `skip` ones (mmengine's advance after a resume, whose draws are not the run's)."""

    def __init__(self, iterator, skip: int, states: dict):
        self.iterator, self.skip, self.states = iterator, skip, states

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip == 0 and self.states is not None:
            set_rng_states(self.states)
            self.states = None
        self.skip = max(0, self.skip - 1)
        return next(self.iterator)


class ExactResumeHook(Hook):
    """Carries the global generators' states in checkpoints and sets them again on resume; keeps
    validation off them (see the module doc)."""

    priority = "HIGHEST"  # its epoch-start restore must come before any hook that draws

    def __init__(self):
        self.resumed: dict | None = None
        self.during_val: dict | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[RNG_KEY] = {"world_size": get_world_size(), "states": rng_states()}  # (first process only)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get(RNG_KEY)
        if saved is None:
            runner.logger.warning("resume: the checkpoint holds no generator states (written before they were "
                                  "saved); the resumed run's random draws differ from an uninterrupted one's")
        elif saved["world_size"] != 1 or get_world_size() != 1:
            runner.logger.warning("resume: generator states are restored for a run of one process only (the "
                                  f"checkpoint's run had {saved['world_size']}, this one {get_world_size()}); the "
                                  "resumed run's random draws differ from an uninterrupted one's")
        else:
            self.resumed = saved["states"]

    def before_train_epoch(self, runner) -> None:
        if self.resumed is None:
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            loop.dataloader_iterator = _RestoreAfterAdvance(loop.dataloader_iterator, loop.iter, self.resumed)
        else:  # an epoch-based loop resumes at an epoch's start: nothing is advanced
            set_rng_states(self.resumed)
        self.resumed = None

    def before_val(self, runner) -> None:
        self.during_val = rng_states()

    def after_val(self, runner) -> None:
        if self.during_val is not None:
            set_rng_states(self.during_val)
            self.during_val = None
