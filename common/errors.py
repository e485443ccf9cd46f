"""The errors both stages raise for bad data and diverged training, so that callers catch one kind."""

import math


class DataError(ValueError):
    """A dataset file or folder that is missing, unreadable or inconsistent; the message names it."""


class DataFileMissing(DataError, FileNotFoundError):
    """A data file that does not exist (a DataError, and a FileNotFoundError for callers that ask)."""


def check_finite_loss(outputs, who: str, where: str, work_dir, advice: str) -> None:
    """FloatingPointError if a train step's `outputs` (mmengine's log_vars) carry a non-finite
    loss. The toolboxes would train on and evaluate a poisoned model; the step has already
    poisoned the weights, so hooks call this before a checkpoint hook can save them."""
    loss = (outputs or {}).get("loss")
    if loss is not None and not math.isfinite(float(loss)):
        raise FloatingPointError(f"{who}: non-finite training loss ({float(loss)}) at {where}; checkpoints "
                                 f"written so far in {work_dir} are intact ({advice})")
