"""DDP through torchrun on CPU (gloo): two processes log what one process logs on the same
global batch, write every artifact once, and their checkpoint resumes in a single process."""
from __future__ import annotations

import json

import pytest

from conftest import CONFIGS, read_json, sets

# 2,400 training images (the last 400 for validation), batches of 64 split 32 + 32.
RUN = ["data.train.limit=2400", "data.test.limit=500", "fit.epochs=2", "fit.batch_size=64"]


def history(run_dir):
    data = read_json(run_dir / "history.json")["history"]
    return {k: v for k, v in data.items() if k != "seconds"}


def assert_same_history(got, expected):
    """Equal up to float summation order: the first epoch agrees to ~1e-6, and training
    amplifies the differences to ~2e-4 after about 70 steps."""
    assert got.keys() == expected.keys()
    for key in expected:
        assert got[key] == pytest.approx(expected[key], rel=1e-3, abs=1e-6), key


def test_two_ranks_log_what_one_process_logs(trainer_process, cli, workdir):
    args = ["fit", CONFIGS / "mnist.yaml", *sets(*RUN), "--device", "cpu"]
    ddp = trainer_process(*args, "--run-dir", workdir / "ddp", "--nproc-per-node", "2")
    assert ddp.exit_code == 0, ddp.output
    assert cli(*args, "--run-dir", workdir / "single").exit_code == 0

    assert_same_history(history(workdir / "ddp"), history(workdir / "single"))
    # Test metrics of the two trained models: float-order weight differences may flip a
    # prediction or two of the 500.
    assert read_json(workdir / "ddp" / "metrics.json") == pytest.approx(
        read_json(workdir / "single" / "metrics.json"), rel=5e-3, abs=5e-3)
    # Rank 0 alone writes: one 'started', one row per epoch, one summary on stdout.
    events = [json.loads(l)["event"] for l in (workdir / "ddp" / "events.jsonl").read_text().splitlines()]
    assert events == ["started", "epoch", "epoch", "completed"]
    assert ddp.stdout.count("completed after 2 epochs") == 1
    assert read_json(workdir / "ddp" / "status.json")["state"] == "completed"


def test_checkpoint_from_two_ranks_resumes_in_one_process(trainer_process, cli, workdir):
    args = ["fit", CONFIGS / "mnist.yaml", *sets(*RUN), "--device", "cpu", "--run-dir", workdir / "run"]
    # --max-time stops the two ranks together after the first epoch: exit 75 through torchrun.
    first = trainer_process(*args, "--nproc-per-node", "2", "--max-time", "0.001")
    assert first.exit_code == 75, first.output
    assert read_json(workdir / "run" / "status.json")["state"] == "interrupted"
    assert len(history(workdir / "run")["loss"]) == 1

    resumed = cli(*args)  # the same command without torchrun: one process continues
    assert resumed.exit_code == 0, resumed.output
    assert cli("fit", CONFIGS / "mnist.yaml", *sets(*RUN), "--device", "cpu",
               "--run-dir", workdir / "single").exit_code == 0
    assert_same_history(history(workdir / "run"), history(workdir / "single"))


THRESHOLD_METRICS = ("compile.metrics=[{type: Precision, thresholds: [0.3, 0.7]}, "
                     "{type: Recall, thresholds: [0.2, 0.5, 0.8]}, "
                     "{type: AUC, num_thresholds: 50}, {type: F1Score, average: macro}, "
                     "{type: MeanIoU, num_classes: 10, sparse_y_true: false, sparse_y_pred: false}]")


def test_threshold_metrics_reduce_like_one_process(trainer_process, cli, workdir):
    """Thresholds and index tables are configuration, not state: two ranks must leave them
    alone and log what one process logs on the same global batches."""
    overrides = [*RUN, "fit.epochs=1", "compile.loss=categorical_crossentropy",
                 "data.transforms.y=[{one_hot: 10}]", THRESHOLD_METRICS]
    args = ["fit", CONFIGS / "mnist.yaml", *sets(*overrides), "--device", "cpu"]
    ddp = trainer_process(*args, "--run-dir", workdir / "ddp", "--nproc-per-node", "2")
    assert ddp.exit_code == 0, ddp.output
    assert cli(*args, "--run-dir", workdir / "single").exit_code == 0
    got, expected = history(workdir / "ddp"), history(workdir / "single")
    assert {"precision_1", "recall_2", "auc", "f1_score", "mean_io_u",
            "val_precision_1"} <= set(expected)
    assert_same_history(got, expected)
