"""common.timing: phases add up, and the loop timer splits a real mmengine Runner's time."""

import time

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from common.timing import LoopTimerHook, PhaseClock, format_timing


def test_phases_accumulate_and_the_record_has_the_total():
    clock = PhaseClock()
    with clock.phase("a_s"):
        time.sleep(0.02)
    with clock.phase("a_s"):
        time.sleep(0.02)
    clock.add("b_s", 1.5)
    record = clock.record()
    assert 0.04 <= record["a_s"] < 0.5 and record["b_s"] == 1.5
    assert record["total_s"] >= record["a_s"]


def test_the_line_names_start_up_training_and_evaluation():
    line = format_timing({"toolbox_import_s": 2.0, "runner_build_s": 1.0, "train_s": 10.0, "train_data_s": 3.0,
                          "train_compute_s": 6.5, "train_other_s": 0.5, "train_iters": 60,
                          "test_inference_s": 1.25, "evaluate_s": 0.75, "total_s": 15.5})
    assert line.startswith("start-up 3.0 s (toolbox import 2.0, runner build 1.0)")
    assert "training 10.0 s (data 3.0, compute 6.5, other 0.5; 60 iterations)" in line
    assert "evaluation 2.0 s (test inference 1.2, evaluate 0.8)" in line and line.endswith("total 15.5 s")


class _Slow(torch.utils.data.Dataset):
    """Every sample takes 5 ms to load: the data time is known from below."""

    def __len__(self):
        return 8

    def __getitem__(self, index):
        time.sleep(0.005)
        return {"inputs": torch.full((4,), float(index))}


class _Net(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, inputs, mode="tensor"):
        out = self.linear(inputs)
        if mode == "loss":
            time.sleep(0.01)  # a step of known least duration
            return {"loss": out.pow(2).mean()}
        return [out]


@pytest.mark.parametrize("loop", ["epoch", "iter"])
@pytest.mark.e2e
def test_the_loop_timer_splits_a_real_runner(tmp_path, loop):
    loader = dict(dataset=_Slow(), sampler=dict(type="DefaultSampler", shuffle=False), batch_size=4,
                  collate_fn=dict(type="default_collate"))
    train_cfg = dict(by_epoch=True, max_epochs=3) if loop == "epoch" else dict(by_epoch=False, max_iters=6)
    runner = Runner(model=_Net(), work_dir=str(tmp_path), train_dataloader=loader, train_cfg=train_cfg,
                    optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
                    default_hooks=dict(checkpoint=None, logger=None), default_scope="mmengine",
                    experiment_name=f"timing_{loop}_{time.time_ns()}")
    timer = LoopTimerHook()
    runner.register_hook(timer)
    timer.train_called = time.perf_counter()
    runner.train()
    summary = timer.summary()
    assert summary["train_iters"] == 6
    assert summary["train_data_s"] >= 6 * 4 * 0.005  # every batch waited for its four samples
    assert summary["train_compute_s"] >= 6 * 0.01
    assert summary["train_s"] >= summary["train_data_s"] + summary["train_compute_s"] - 0.002  # rounded to ms
    assert summary["train_other_s"] >= -0.002 and summary["train_setup_s"] > 0
    if loop == "epoch":
        epochs = summary["epochs"]
        assert [e["iters"] for e in epochs] == [2, 2, 2]
        assert all(e["seconds"] >= e["data_s"] + e["compute_s"] - 0.001 and e["outside_iters_s"] >= -0.001
                   for e in epochs)
    else:
        assert "epochs" not in summary  # an iteration-based loop is one long "epoch" to the hooks
