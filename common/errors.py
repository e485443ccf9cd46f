"""The errors both stages raise for bad data and diverged training, so that callers catch one kind,
and how the tools show them (one line naming the cause; the traceback with --debug)."""

import contextlib
import math
import sys


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


class MethodFailed(RuntimeError):
    """A pretraining method (maybe a user's, pretrain/methods) raised; the message names the
    method, the arm and the epoch."""


# What a user's input or environment causes (a bad config, name or file, a diverged run, a full
# disk, a refused checkpoint): the tools print these as one line, not as a traceback.
USER_ERRORS = (KeyError, ValueError, OSError, FloatingPointError, MethodFailed)


@contextlib.contextmanager
def errors_as_one_line(debug: bool = False, also: tuple = ()):
    """For a tool's main: a USER_ERRORS exception (or one of `also`) ends the process with exit
    code 2 and one line `error: <message>` on stderr, whose message names the file, key, arm or
    method; `debug=True` (the tools' --debug) lets the traceback through instead."""
    try:
        yield
    except (*USER_ERRORS, *also) as exc:
        if debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"error: {message}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
