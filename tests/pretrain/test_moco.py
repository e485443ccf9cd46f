"""MoCo v2 as the pretraining objective: the per-sample InfoNCE every method sees, the queue and
key encoder, the cost of a MoCo step, exact resume and the export's layout."""

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision
from mmengine.hooks import Hook

from common.backbone import load_backbone
from pretrain.config import load_config
from pretrain.hook import MethodHook, training_cost
from pretrain.methods import build_method
from pretrain.moco import MoCoV2, knn_leave_one_out, objective_settings
from pretrain.trainer import build_runner, train
from pretrain.training_loss import TrainingLoss

REPO = Path(__file__).resolve().parents[2]
MOCO = str(REPO / "configs/pretrain/resnet18_shapes_tiny_moco_v2.py")
FAST = {  # a few seconds per run on 2 cores
    "arch": "resnet10", "data.num_train": 64, "data.num_val": 24, "data.image_size": 16,
    "train.epochs": 3, "train.batch_size": 16, "objective.queue_size": 40, "objective.dim": 16,
    "val_interval": 3, "log_interval": 2, "deterministic": True,
}
FAST_DAR = {"arm": dict(name="dar", warmup=1, interval=1, keep=0.75, active=2, refresh=[])}


def moco_cfg(**extra):
    return load_config(MOCO, {**FAST, **extra})


def small_moco(**kw):
    torch.manual_seed(0)
    return MoCoV2("resnet10", dim=8, queue_size=6, momentum=0.9, temperature=0.2, **kw)


def test_per_sample_loss_is_the_infonce_of_the_reference():
    model = small_moco()
    loss = TrainingLoss(forward_passes=2)
    model.loss = loss
    views = torch.randn(4, 2, 3, 32, 32)
    queue = model.queue.clone()
    key_before = [p.clone() for p in model.key_net.parameters()]
    net_state = {k: v.clone() for k, v in model.net.state_dict().items()}
    model.train()
    batch_loss = model(views, torch.tensor([3, 1, 0, 2]), torch.arange(4), mode="loss")["loss"]
    record = loss.pop()
    # the reference's computation, by hand, from the state before the step
    ref = small_moco()
    ref.net.load_state_dict(net_state)
    for p, before, q_param in zip(ref.key_net.parameters(), key_before, ref.net.parameters(), strict=True):
        p.data.copy_(0.9 * before + 0.1 * q_param.data)  # the momentum update before the key forward
    ref.train()
    q = F.normalize(ref.net(views[:, 0]), dim=1)
    with torch.no_grad():
        k = F.normalize(ref.key_net(views[:, 1]), dim=1)
    logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue], dim=1) / 0.2
    expected = F.cross_entropy(logits, torch.zeros(4, dtype=torch.long), reduction="none")
    assert torch.allclose(record.losses, expected.detach(), atol=1e-5)
    assert batch_loss.item() == pytest.approx(expected.mean().item(), abs=1e-5)
    assert (record.forwards, record.backwards) == (8, 4)  # query + key forwards, query backwards
    # the four keys went into the queue (ring buffer of 6: slots 0..3), pointer at 4
    assert torch.allclose(model.queue[:, :4], k.T, atol=1e-5) and int(model.queue_ptr) == 4
    assert torch.equal(model.queue[:, 4:], queue[:, 4:])


def test_queue_wraps_and_scoring_pass_has_no_side_effects():
    model = small_moco()
    model.enqueue(torch.arange(5 * 8, dtype=torch.float).view(5, 8))
    model.enqueue(torch.ones(3, 8))  # slots 5, 0, 1
    assert int(model.queue_ptr) == 2
    assert torch.equal(model.queue[:, 5], torch.ones(8)) and torch.equal(model.queue[:, 2], torch.arange(16, 24.0))
    queue, ptr = model.queue.clone(), int(model.queue_ptr)
    key = [p.clone() for p in model.key_net.parameters()]
    model.eval()
    model.contrast(torch.randn(3, 2, 3, 32, 32))
    assert torch.equal(model.queue, queue) and int(model.queue_ptr) == ptr
    assert all(torch.equal(a, b) for a, b in zip(key, model.key_net.parameters(), strict=True))


def test_head_bn_normalizes_the_hidden_layer_of_both_heads():
    model = small_moco(head_bn=True)
    for net in (model.net, model.key_net):
        assert [type(m) for m in net.fc] == [torch.nn.Linear, torch.nn.BatchNorm1d, torch.nn.ReLU, torch.nn.Linear]
    model.train()
    model.contrast(torch.randn(4, 2, 3, 32, 32))
    hidden = []
    model.net.fc[1].register_forward_hook(lambda module, args, out: hidden.append(out))
    model.net(torch.randn(6, 3, 32, 32))
    # centred over the batch: the hidden layer cannot carry one large component common to every image
    assert hidden[0].mean(dim=0).abs().max() < 1e-5
    assert [type(m) for m in small_moco().net.fc] == [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]  # reference
    with pytest.raises(ValueError, match="head_bn=True .* needs objective.mlp=True"):
        objective_settings({"objective": dict(name="moco_v2", mlp=False, head_bn=True)})


def test_config_errors_name_the_objective_key():
    with pytest.raises(ValueError, match="objective.name must be one of"):
        objective_settings({"objective": dict(name="simclr")})
    with pytest.raises(KeyError, match="objective.tempreature"):
        objective_settings({"objective": dict(name="moco_v2", tempreature=0.2)})
    with pytest.raises(ValueError, match="own augmentation"):
        moco_cfg(augment=dict(mix="mixup"))
    assert objective_settings({}) == {"name": "supervised"}


def test_cost_of_a_moco_step_counts_the_key_forward():
    # i.i.d. MoCo: 2 forwards + 1 backward per sample is 100%; half the samples back-propagated
    # after scoring everything (2 + 2 forwards, 1 backward per 2 samples) is (4 + 2) / 8
    assert training_cost(200, 100, 200, forward_passes=2) == pytest.approx(1.0)
    assert training_cost(400, 50, 200, forward_passes=2) == pytest.approx((400 + 100) / 400)
    assert training_cost(90, 90, 90) == pytest.approx(1.0)


def test_knn_monitor_leaves_each_image_out():
    features = F.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]), dim=1)
    assert knn_leave_one_out(features, torch.tensor([0, 0, 1, 1]), k=1) == 100.0
    assert knn_leave_one_out(features, torch.tensor([0, 1, 0, 1]), k=1) == 0.0


@pytest.mark.e2e
def test_tiny_moco_trains_and_exports_the_query_backbone_in_torchvision_layout(tmp_path):
    meta = train(moco_cfg(), str(tmp_path))
    state, saved = load_backbone(tmp_path / "export")
    reference = {k for k in torchvision.models.resnet.ResNet(torchvision.models.resnet.BasicBlock,
                                                            [1, 1, 1, 1]).state_dict()
                 if not k.startswith("fc.") and not k.endswith("num_batches_tracked")}
    assert set(state) == reference
    assert saved["objective"] == {"name": "moco_v2", "dim": 16, "queue_size": 40, "momentum": 0.99,
                                  "temperature": 0.2, "mlp": True, "shuffle_bn": True, "head_bn": False}
    assert saved["cost"] == pytest.approx(1.0) and saved["forward_passes"] == 2
    assert saved["forwards"] == 2 * saved["backwards"] == 2 * 3 * 64 and saved["iid_forwards"] == 2 * 3 * 64
    assert saved["top1"] is None and 0 <= saved["metrics"]["knn_top1"] <= 100
    first = meta["history"][0]["mean_loss"]
    assert first == pytest.approx(math.log(41), rel=0.5)  # InfoNCE over 1 + 40 keys starts near ln 41
    checkpoint = torch.load(tmp_path / "epoch_3.pth", weights_only=False)["state_dict"]
    assert {"queue", "queue_ptr", "steps"} <= set(checkpoint) and any(k.startswith("key_net.") for k in checkpoint)
    # the exported backbone is the query encoder's, not the key encoder's
    assert torch.equal(state["conv1.weight"], checkpoint["net.conv1.weight"])
    assert not torch.equal(state["conv1.weight"], checkpoint["key_net.conv1.weight"])


class Interrupt(Hook):
    """Kills the run after epoch `stop`, once its checkpoint is written (like a lost node)."""

    def __init__(self, stop):
        self.stop = stop

    def after_train_epoch(self, runner):
        if runner.epoch + 1 == self.stop:
            raise KeyboardInterrupt(f"stopped after epoch {self.stop}")


@pytest.mark.e2e
def test_dar_drops_by_infonce_and_resume_after_a_kill_equals_the_uninterrupted_run(tmp_path):
    full = train(moco_cfg(**FAST_DAR), str(tmp_path / "full"))
    assert [r["trained"] for r in full["history"]] == [64, 64, 48]  # drop after epoch 2 (warm-up 1, interval 1)
    method = build_method(FAST_DAR["arm"], 64, 3)
    assert full["cost"] == pytest.approx(method.plan().cost) == pytest.approx(176 / 192)
    ref = torch.load(tmp_path / "full" / "epoch_3.pth", weights_only=False)
    work = tmp_path / "stopped"
    runner = build_runner(moco_cfg(**FAST_DAR), str(work))
    hook = next(h for h in runner.hooks if isinstance(h, MethodHook))
    epoch_losses = []  # each sample's InfoNCE in epoch 2, as the drop read it
    reset = hook.table.reset_interval
    hook.table.reset_interval = lambda: (epoch_losses.append(hook.table.last.clone()), reset())
    runner.register_hook(Interrupt(2), priority="LOWEST")
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    first = torch.load(work / "epoch_2.pth", weights_only=False)["sampling"]
    # the drop after epoch 2 kept the 48 samples of highest InfoNCE loss in that epoch
    hardest = torch.argsort(epoch_losses[0], descending=True, stable=True)[:48]
    assert set(first["method"]["subset"].tolist()) == set(hardest.tolist())
    assert torch.isfinite(epoch_losses[0]).all() and epoch_losses[0].std() > 0
    resumed = train(moco_cfg(**FAST_DAR), str(work), resume=True)
    got = torch.load(work / "epoch_3.pth", weights_only=False)
    assert resumed["forwards"] == full["forwards"] and resumed["cost"] == full["cost"]
    assert torch.equal(got["sampling"]["method"]["subset"], ref["sampling"]["method"]["subset"])
    for key, value in ref["state_dict"].items():  # query, key encoder, queue and its pointer
        assert torch.equal(got["state_dict"][key], value), key


@pytest.mark.e2e
def test_two_process_moco_run_shuffles_bn_across_processes(tmp_path, free_port):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port), str(REPO / "tools" / "pretrain.py"), MOCO, "--launcher", "pytorch",
           "--work-dir", str(tmp_path), "--cfg-options", "arch=resnet10", "data.num_train=64", "data.num_val=16",
           "data.image_size=16", "train.epochs=2", "train.batch_size=16", "objective.queue_size=48",
           "val_interval=2"]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    meta = json.loads((tmp_path / "export" / "backbone.json").read_text())
    assert meta["world_size"] == 2 and meta["cost"] == pytest.approx(1.0)
    state = torch.load(tmp_path / "epoch_2.pth", weights_only=False)["state_dict"]
    # 4 steps per epoch, 16 keys each (both processes' 8, gathered): 128 keys into a queue of 48
    assert int(state["queue_ptr"]) == 128 % 48 and int(state["steps"]) == 8


def run_bounded(cmd: list[str], env: dict, timeout: float) -> subprocess.CompletedProcess:
    """Run torchrun and its workers in their own session; past `timeout`, kill all of them (a
    plain subprocess.run timeout kills torchrun only and leaves a waiting worker behind)."""
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"the 2-process run did not finish in {timeout:.0f} s:\n{err[-3000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.mark.e2e
def test_shuffle_bn_returns_every_process_its_own_keys(tmp_path, free_port):
    sizes = (5, 2)  # unequal shares, as an in-batch selection's
    worker = Path(__file__).with_name("dist_moco_shuffle_worker.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port), str(worker), str(tmp_path), *map(str, sizes)]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
           "PYTHONPATH": str(REPO)}
    proc = run_bounded(cmd, env, timeout=180)  # ~15 s on 2 busy cores; gloo's own timeout is 60 s
    assert proc.returncode == 0, proc.stderr[-3000:]
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert got["keys"].shape == (sizes[rank], 8)
        assert torch.allclose(got["keys"], got["direct"], atol=1e-6)
    first, second = (torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1))
    # 5 + 6 + 6 keys gathered into a ring of 6 on both processes
    assert int(first["queue_ptr"]) == int(second["queue_ptr"]) == 17 % 6 and int(first["steps"]) == 3
    assert torch.equal(first["queue"], second["queue"])


def test_bench_times_a_moco_step_against_a_supervised_step():
    from pretrain.benchmark import format_moco_ratio, moco_step_ratio

    result = moco_step_ratio("resnet10", image_size=16, batch_size=8, steps=3, queue_size=64)
    # MoCo's step computes a superset of the supervised one (a second forward, the head, the queue)
    assert result["moco_v2_step_s"] > result["supervised_step_s"] > 0
    assert "moco_over_supervised" in format_moco_ratio(result)
