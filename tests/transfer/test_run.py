"""End to end through the real toolboxes: the four tiny tasks train and test on CPU from a
stage-1 export and write valid results.json files; paper-scale configs pass the dry run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mmengine.config import Config

from common.backbone import load_backbone
from common.distributed import init_cpu_process_group
from common.results import validate_results
from common.vocab import FAMILY_METRICS, RESULTS_FILE
from common.workdir import WorkDirInUse
from transfer.build import build_run, protocol_of, recipe_hash
from transfer.data import DataError
from transfer.request import TransferRequest
from transfer.run import run_transfer
from transfer.tasks import TASKS

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_TASKS = ["fpn_tiny", "mask_rcnn_tiny", "pspnet_tiny", "simplebaseline_tiny"]


def read_results(work_dir: Path) -> dict:
    results = json.loads((work_dir / RESULTS_FILE).read_text())
    validate_results(results)
    return results


def run_log(work_dir: Path) -> str:
    return "\n".join(p.read_text() for p in work_dir.glob("*/*.log"))


# The four tasks run one after another in this one process (mmdet, mmseg, mmpose registries
# and mmengine's global logger/visualizer instances must not leak between runs).
@pytest.mark.parametrize("task", TINY_TASKS)
@pytest.mark.e2e
def test_tiny_task_trains_tests_and_writes_results(task, export_r18, shared_data, tmp_path):
    work_dir = tmp_path / task
    returned = run_transfer(TransferRequest(task, export_r18, seed=1, work_dir=work_dir))
    results = read_results(work_dir)
    assert results == json.loads(json.dumps(returned))
    assert results["task"] == task and results["arm"] == "iid" and results["seed"] == 1
    _, meta = load_backbone(export_r18)
    assert results["pretrain"] == meta  # stage-1 metadata, cost included
    expected = FAMILY_METRICS[TASKS[task].family]
    assert set(expected) <= set(results["metrics"])
    if task == "pspnet_tiny":
        assert set(results["metrics"]) == {"aAcc", "mIoU", "mAcc"}
        iou = results["per_class"]["IoU"]
        assert len(iou) == 19 and iou["road"] is not None
        # wall is not in the frame's labels: NaN (null) if never predicted either, else 0
        assert iou["wall"] in (None, 0.0)
        assert all(v is None or 0.0 <= v <= 100.0 for v in iou.values())
        assert all(0.0 <= v <= 100.0 for v in results["metrics"].values())
    else:
        assert all(-1.0 <= results["metrics"][m] <= 1.0 for m in expected)  # fractions
    assert results["protocol"]["max_iters"] == 4 and results["protocol"]["world_size"] == 1
    assert results["backbone_contract"] == {"tensors_loaded": 100, "unexpected_keys": []}
    log = run_log(work_dir)
    assert "backbone contract: all 100 backbone tensors equal" in log
    assert "Iter(train) [4/4]" in log


@pytest.mark.e2e
def test_random_init_arm_runs_with_the_same_protocol(export_r18, shared_data, tmp_path):
    random_dir = tmp_path / "random"
    run_transfer(TransferRequest("pspnet_tiny", "none", seed=0, work_dir=random_dir))
    random_init = read_results(random_dir)
    pretrained = build_run(TransferRequest("pspnet_tiny", export_r18, seed=0)).cfg  # the other arm's config
    assert random_init["arm"] == "random_init" and random_init["backbone"] == "none"
    assert random_init["pretrain"]["cost"] == 0.0
    assert random_init["pretrain"]["arch"] == "resnet18"
    assert random_init["backbone_contract"] == {"tensors_loaded": 0, "unexpected_keys": []}
    assert random_init["protocol"] == {**protocol_of(pretrained), "world_size": 1, "effective_batch_size": 4,
                                       "train_iters": 4}  # measured by the Runner
    assert random_init["config_hash"] == recipe_hash(pretrained)
    assert "backbone contract" not in run_log(random_dir)


@pytest.mark.e2e
def test_data_root_points_a_tiny_task_at_standard_layout_data(export_r18, coco2017_copy,
                                                              tmp_path):
    # how the pipeline runs the tiny tasks on generated data (transfer/synthetic.py)
    run_transfer(TransferRequest("simplebaseline_tiny", export_r18, work_dir=tmp_path / "run",
                                 data_root=coco2017_copy))
    results = read_results(tmp_path / "run")
    assert set(FAMILY_METRICS["keypoints"]) <= set(results["metrics"])
    assert f"{coco2017_copy}/annotations/person_keypoints_val2017.json" in run_log(
        tmp_path / "run")  # the evaluator's ann_file, printed with the config


def test_missing_data_fails_before_the_runner(export_r18, tmp_path):
    with pytest.raises(DataError, match="nowhere/annotations/person_keypoints_train2017.json"):
        run_transfer(TransferRequest("simplebaseline_tiny", export_r18, work_dir=tmp_path / "run",
                                     data_root=tmp_path / "nowhere"))
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("task", ["fpn", "mask_rcnn", "pspnet", "simplebaseline"])
@pytest.mark.e2e
def test_paper_scale_dry_run_random_init(task, tmp_path):
    summary = run_transfer(TransferRequest(task, "none", work_dir=tmp_path / "run", dry_run=True))
    assert summary["dry_run"] and summary["arm"] == "random_init"
    assert summary["backbone_tensors_verified"] == 0
    assert not (tmp_path / "run").exists()  # a dry run writes nothing


@pytest.mark.parametrize("task", ["fpn", "mask_rcnn", "pspnet"])
@pytest.mark.e2e
def test_paper_scale_dry_run_from_a_resnet50_export(task, export_r50):
    summary = run_transfer(TransferRequest(task, export_r50, dry_run=True))
    assert summary["arch"] == "resnet50" and summary["arm"] == "dar"
    assert summary["backbone_tensors_verified"] == 265  # every ResNet-50 weight and BN buffer
    assert summary["unexpected_checkpoint_keys"] == []


@pytest.mark.parametrize("task", ["simplebaseline", "simplebaseline_xiao"])
@pytest.mark.e2e
def test_paper_scale_simplebaseline_dry_run_from_a_resnet101_export(task, export_r101):
    summary = run_transfer(TransferRequest(task, export_r101, dry_run=True))
    assert summary["arch"] == "resnet101" and summary["backbone_tensors_verified"] == 520


def _cli(*args: str, timeout: int = 300, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")  # see one_torch_thread
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.mark.e2e
def test_cli_list_and_dry_run_from_any_directory(export_r18, tmp_path):
    listing = _cli(str(REPO_ROOT / "tools" / "transfer.py"), "--list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert [line.split()[0] for line in listing.stdout.splitlines()] == list(TASKS)
    dumped = tmp_path / "effective.py"
    dry = _cli("tools/transfer.py", "--task", "fpn_tiny", "--backbone", str(export_r18),
               "--dry-run", "--seed", "2", "--cfg-options", "train_cfg.max_iters=3",
               "--dump-config", str(dumped))
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout[dry.stdout.index("{"):])
    assert summary["seed"] == 2 and summary["protocol"]["max_iters"] == 3
    assert summary["backbone_tensors_verified"] == 100
    # one self-contained file: every _base_ level merged, the override, the backbone, the seed
    effective = Config.fromfile(str(dumped))
    assert "_base_" not in dumped.read_text() and effective.train_cfg.max_iters == 3
    assert effective.model.backbone.init_cfg.checkpoint == str(export_r18 / "backbone.pth")
    assert effective.randomness.seed == 2 and summary["config_hash"] in dumped.read_text()
    bad = _cli("tools/transfer.py", "--task", "fpn", "--backbone", str(export_r18), "--dry-run")
    assert bad.returncode != 0 and "resnet18 but task 'fpn' builds a resnet50" in bad.stderr


@pytest.mark.e2e
def test_two_process_cpu_run_with_torchrun(export_r18, shared_data, tmp_path):
    work_dir = tmp_path / "ddp"
    proc = _cli("-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                "29517", "tools/transfer.py", "--task", "pspnet_tiny", "--backbone",
                str(export_r18), "--work-dir", str(work_dir), "--launcher", "pytorch")
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = read_results(work_dir)
    assert "Distributed training: True" in run_log(work_dir)
    assert results["per_class"]["IoU"]["road"] is not None
    assert results["protocol"]["world_size"] == 2


def test_slurm_on_cpu_is_refused_clearly():
    # mmengine's slurm init needs CUDA; a CPU run is started with torchrun instead.
    with pytest.raises(ValueError, match="torchrun and --launcher pytorch"):
        init_cpu_process_group("slurm")


@pytest.mark.e2e
def test_a_stopped_run_resumes_from_its_last_checkpoint_with_its_own_config_only(export_r18, shared_data,
                                                                                  tmp_path):
    keep = {"default_hooks.checkpoint.interval": 1, "default_hooks.checkpoint.save_last": True,
            "train_cfg.max_iters": 2}
    run_transfer(TransferRequest("pspnet_tiny", export_r18, work_dir=tmp_path, cfg_options=keep))
    assert (tmp_path / "last_checkpoint").is_file()
    with pytest.raises(WorkDirInUse, match=r"train_cfg.max_iters \(2 -> 3\)"):
        run_transfer(TransferRequest("pspnet_tiny", export_r18, work_dir=tmp_path, resume=True,
                                     cfg_options={**keep, "train_cfg.max_iters": 3}))
    resumed = run_transfer(TransferRequest("pspnet_tiny", export_r18, work_dir=tmp_path, resume=True, cfg_options=keep))
    log = max(tmp_path.glob("*/*.log"), key=lambda p: p.stat().st_mtime).read_text()  # the resumed run's
    assert "resumed at iteration 2" in log  # the contract hook saw the resumed weights
    assert "Iter(train) [1/2]" not in log
    validate_results(resumed)


@pytest.mark.e2e
def test_cli_resume_continues_a_killed_run_from_any_directory(export_r18, shared_data, tmp_path):
    """tools/transfer.py --resume, started from another directory: a run killed (SIGKILL) after
    its first checkpoint continues from it and finishes, without redoing the first iterations."""
    work_dir = tmp_path / "run"
    args = [str(REPO_ROOT / "tools" / "transfer.py"), "--task", "pspnet_tiny", "--backbone", str(export_r18),
            "--work-dir", str(work_dir), "--cfg-options", "train_cfg.max_iters=12",
            "default_hooks.checkpoint.interval=2"]
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="", OMP_NUM_THREADS="1")
    first = subprocess.Popen([sys.executable, *args], cwd=tmp_path, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (work_dir / "last_checkpoint").is_file():
            assert first.poll() is None, "the run ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 240 s"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)  # the next checkpoint is two iterations away
    finally:
        first.kill()
        first.wait()
    assert not (work_dir / RESULTS_FILE).exists()
    stopped_at = Path((work_dir / "last_checkpoint").read_text().strip()).name
    resumed = subprocess.run([sys.executable, *args, "--resume"], cwd=tmp_path, env=env, text=True,
                             capture_output=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    newest_log = max(work_dir.glob("*/*.log"), key=lambda p: p.stat().st_mtime).read_text()
    assert f"resumed at iteration {stopped_at.removeprefix('iter_').removesuffix('.pth')}" in newest_log
    assert "Iter(train) [12/12]" in newest_log and "Iter(train) [ 1/12]" not in newest_log
    validate_results(read_results(work_dir))


@pytest.mark.e2e
def test_a_batch_other_than_the_recipe_s_is_noted_or_scaled(export_r18, shared_data, tmp_path):
    # pspnet_tiny's recipe: lr for 4 crops per step. 8 crops per step: noted, or the lr doubled.
    eight = {"train_dataloader.batch_size": 8, "train_cfg.max_iters": 1}
    noted = run_transfer(TransferRequest("pspnet_tiny", export_r18, work_dir=tmp_path / "noted", cfg_options=eight))
    assert noted["protocol"]["effective_batch_size"] == 8 and noted["protocol"]["reference_batch_size"] == 4
    assert not noted["protocol"]["lr_scaled"] and "differs from the recipe's 4" in " ".join(noted["notes"])
    scaled = run_transfer(TransferRequest("pspnet_tiny", export_r18, work_dir=tmp_path / "scaled", cfg_options=eight,
                                          auto_scale_lr=True))
    assert scaled["protocol"]["lr_scaled"] and "notes" not in scaled
    assert "Scaling the original LR by 2.0" in run_log(tmp_path / "scaled")


def test_a_gn_task_dry_run_at_6x_and_a_bn_export_refused(export_r18, tmp_path):
    summary = run_transfer(TransferRequest("mask_rcnn_gn_tiny", "none", work_dir=tmp_path / "run", dry_run=True,
                                           schedule="6x"))
    assert summary["schedule"] == "6x: 54 iterations, lr x0.1 at 48, 52 (1x: 9, at 6, 8)"
    assert summary["protocol"]["max_iters"] == 54 and summary["protocol"]["schedule"] == "6x"
    assert not (tmp_path / "run").exists()  # a dry run writes nothing
    with pytest.raises(ValueError, match="pretrained with BatchNorm but task 'mask_rcnn_gn_tiny' builds GroupNorm"):
        run_transfer(TransferRequest("mask_rcnn_gn_tiny", export_r18, dry_run=True))
    with pytest.raises(ValueError, match="'pspnet_tiny' .semantic_segmentation. has no detection schedule"):
        run_transfer(TransferRequest("pspnet_tiny", "none", dry_run=True, schedule="3x"))


@pytest.mark.e2e
def test_amp_transfer_trains_in_bfloat16_on_the_cpu_and_records_it(export_r18, shared_data, tmp_path):
    work_dir = tmp_path / "run"
    done = _cli("tools/transfer.py", "--task", "pspnet_tiny", "--backbone", str(export_r18),
                "--work-dir", str(work_dir), "--amp")
    assert done.returncode == 0, done.stderr[-3000:]
    results = read_results(work_dir)
    assert results["protocol"]["amp"] == "bfloat16"
    assert set(results["metrics"]) == {"aAcc", "mIoU", "mAcc"}
    assert "type='CpuAmpOptimWrapper'" in run_log(work_dir)  # the config the Runner built
    plain = build_run(TransferRequest("pspnet_tiny", export_r18, work_dir=tmp_path / "fp32"))
    assert protocol_of(plain.cfg)["amp"] is None


def test_amp_on_the_cpu_refuses_tasks_whose_ops_have_no_bfloat16_kernels(export_r18):
    with pytest.raises(ValueError, match="--amp on the CPU .* 'fpn_tiny': mmcv's CPU kernels of nms"):
        build_run(TransferRequest("fpn_tiny", export_r18, amp=True))
    with pytest.raises(ValueError, match="'simplebaseline_tiny': mmpose's heatmap accuracy"):
        build_run(TransferRequest("simplebaseline_tiny", export_r18, amp=True))


@pytest.mark.e2e
def test_a_diverging_run_stops_at_its_first_nan_loss_naming_the_iteration(shared_data, tmp_path):
    # lr 1e4 and no clipping: the detector's loss is non-finite within a few steps. Without the
    # check mmdet trains on, tests a poisoned model and records AP 0 as if it were a result.
    diverge = {"optim_wrapper.optimizer.lr": 1e4, "optim_wrapper.clip_grad": None, "train_cfg.max_iters": 8,
               "param_scheduler": []}
    with pytest.raises(FloatingPointError, match=r"task fpn_tiny: non-finite training loss .* at iteration \d"):
        run_transfer(TransferRequest("fpn_tiny", "none", work_dir=tmp_path / "run", cfg_options=diverge))
    assert not (tmp_path / "run" / RESULTS_FILE).exists()
