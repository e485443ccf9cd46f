"""Run by test_transfer_resume.py: one attempt of a tiny transfer run, or of a pipeline, that
kills itself (SIGKILL: no cleanup, like `kill -9` or a lost node) after a given iteration.

    python killable_transfer_worker.py KILL_AFTER transfer TASK WORK_DIR OPTIONS_JSON
    python killable_transfer_worker.py KILL_AFTER pipeline EXPERIMENT RUNS_ROOT

KILL_AFTER: the number of training iterations of a transfer run after which the process kills
itself (0: never). The kill comes from the FiniteLossHook's after_train_iter (priority HIGHEST),
so a checkpoint due at that iteration is not written: the resume continues from the one before.
Every attempt resumes (`--resume`, as the pipeline always does).
"""

import json
import os
import signal
import sys


def main() -> None:
    kill_after, mode, *rest = sys.argv[1:]
    kill_after = int(kill_after)
    from transfer.run import FiniteLossHook

    checked = FiniteLossHook.after_train_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        checked(self, runner, batch_idx, data_batch, outputs)
        if kill_after and runner.iter + 1 == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    FiniteLossHook.after_train_iter = after_train_iter
    if mode == "transfer":
        from transfer.request import TransferRequest
        from transfer.run import run_transfer

        task, work_dir, options = rest
        run_transfer(TransferRequest(task, "none", work_dir=work_dir, cfg_options=json.loads(options), resume=True))
    else:
        from pipeline.experiment import load_experiment, make_plan
        from pipeline.report import write_report
        from pipeline.run import run_plan

        experiment, runs_root = rest
        plan = make_plan(load_experiment(experiment), runs_root)
        run_plan(plan)
        write_report(plan, "killable_transfer_worker.py")


if __name__ == "__main__":
    main()
