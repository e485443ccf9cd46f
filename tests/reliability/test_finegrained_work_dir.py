"""Issue 22, item 4: the fine-grained tasks claim their work dir as the toolbox tasks do (a
finished result is never replaced without --overwrite, a resume with another config is
refused, naming the key) and stop at a non-finite loss, naming the task and where, without
writing results.json."""

import json

import pytest

from common.workdir import WorkDirInUse
from pretrain.synthetic import write_shapes_folder
from transfer.run import run_transfer

FAST = {"train.epochs": 1, "train.batch_size": 8}


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    root = tmp_path_factory.mktemp("finegrained") / "shapes2"
    write_shapes_folder(root, 8, 4, 32, seed=1, classes=[0, 1])
    return root


def test_a_finished_result_is_not_replaced_by_another_config(target, tmp_path):
    work = tmp_path / "lin"
    run_transfer("finegrained_linear_tiny", "none", work_dir=work, data_root=target, cfg_options=FAST)
    finished = (work / "results.json").read_text()
    with pytest.raises(WorkDirInUse, match="already holds a run; nothing was changed"):
        run_transfer("finegrained_linear_tiny", "none", work_dir=work, data_root=target,
                     cfg_options={**FAST, "train.lr": 0.5})
    with pytest.raises(WorkDirInUse, match=r"--resume with a changed config: config\.train\.lr \(0\.1 -> 0\.5\)"):
        run_transfer("finegrained_linear_tiny", "none", work_dir=work, data_root=target, resume=True,
                     cfg_options={**FAST, "train.lr": 0.5})
    assert (work / "results.json").read_text() == finished
    replaced = run_transfer("finegrained_linear_tiny", "none", work_dir=work, data_root=target, overwrite=True,
                            cfg_options={**FAST, "train.lr": 0.5})
    assert json.loads((work / "results.json").read_text()) == replaced


def test_a_non_finite_loss_stops_the_run_naming_where(target, tmp_path):
    work = tmp_path / "fine"
    with pytest.raises(FloatingPointError, match=r"task finegrained_finetune_tiny: non-finite (training loss|weights)"):
        run_transfer("finegrained_finetune_tiny", "none", work_dir=work, data_root=target,
                     cfg_options={"train.epochs": 2, "train.batch_size": 4, "train.lr": 1e6})
    assert not (work / "results.json").exists()
