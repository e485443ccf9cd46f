"""The Cell interface (pipeline/cells.py): every kind of cell answers the executors' questions
itself, so a pretraining cell on a selected subset depends on its selection everywhere (the
parallel runner, the in-process executor, the Slurm dry run and submission alike)."""

from pathlib import Path

import pytest

from pipeline.cells import Cell, PretrainCell, TransferCell
from pipeline.cluster import dry_run_lines, stage_resources
from pipeline.experiment import load_experiment, make_plan
from pipeline.run import PENDING, run_work, state_of

REPO = Path(__file__).resolve().parents[2]
CONDITIONAL = str(REPO / "configs" / "experiments" / "conditional_tiny.py")
SMALLER = {"selection.methods": ["random"], "selection.image_sizes": [48],
           "tasks": {"_delete_": True, "finegrained_linear_tiny": {}}}


@pytest.fixture(scope="module")
def conditional(tmp_path_factory):
    return make_plan(load_experiment(CONDITIONAL, SMALLER), tmp_path_factory.mktemp("runs"))


def test_a_cell_depends_on_the_cells_it_reads():
    source = PretrainCell("iid", "", 0, "c.py", {}, Path("p"))
    assert source.depends_on == []
    assert TransferCell("fpn_tiny", "iid", 0, {}, source, Path("t")).depends_on == [source]
    assert TransferCell("fpn_tiny", "random_init", 0, {}, None, Path("r")).depends_on == []


def test_every_kind_of_cell_answers_the_interface(conditional):
    selection, pretrain = conditional.selection[0], conditional.pretrain[0]
    probe = next(c for c in conditional.transfer if c.source is pretrain)
    assert pretrain.depends_on == [selection] and probe.depends_on == [pretrain] and selection.depends_on == []
    for cell in conditional.cells:
        assert isinstance(cell, Cell) and cell.name.split("/")[0] == cell.stage
        assert cell.artifact.is_relative_to(cell.work_dir)
        assert len(cell.hash(conditional)) == 16 and cell.hash(conditional) == cell.hash(conditional)
    assert [c.artifact.name for c in (selection, pretrain, probe)] == ["subset.json", "backbone.json", "results.json"]
    assert probe.describe(conditional) == (f"  <- {pretrain.name}, target: "
                                           f"{conditional.root / 'data' / 'warm_shapes'}")
    assert selection.timing() is None and not selection.records_timing  # not run yet, and never timed


def test_a_cell_whose_input_is_not_done_is_refused_naming_it(conditional):
    selection, pretrain = conditional.selection[0], conditional.pretrain[0]
    assert state_of(selection, conditional) == PENDING
    with pytest.raises(RuntimeError, match=f"its selection cell {selection.name} has no subset file "
                                           r"\(state: pending\)"):
        run_work(pretrain, conditional, {})
    assert not pretrain.work_dir.exists()  # refused before anything ran


def test_the_slurm_dry_run_puts_a_pretraining_cell_after_its_selection(conditional):
    lines = dry_run_lines(conditional, stage_resources(None))
    start = lines.index(next(line for line in lines if line.endswith(conditional.pretrain[0].name
                                                                     + "  (1 process(es), one process)")))
    own = lines[start + 1:next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))]
    assert f"    #SBATCH --dependency='afterok:<job of {conditional.selection[0].name}>'" in own
