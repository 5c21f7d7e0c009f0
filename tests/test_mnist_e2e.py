"""Issue 2's vertical slice through the CLI: fit a small MNIST run, check every artifact, then
evaluate and predict from its checkpoint."""
from __future__ import annotations

import csv
import json

import h5py
import numpy as np
import pytest
import yaml

from conftest import CONFIGS, TINY_MNIST, read_json, sets


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """One tiny MNIST fit shared by the tests below (they only read its run dir)."""
    from typer.testing import CliRunner
    from trainer.cli.main import app

    run_dir = tmp_path_factory.mktemp("mnist") / "run"
    result = CliRunner().invoke(app, ["fit", str(CONFIGS / "mnist.yaml"), "--run-dir", str(run_dir),
                                      *sets(*TINY_MNIST)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return run_dir, result.stdout


def test_fit_prints_one_line_per_epoch_and_summary(mnist_run):
    _, stdout = mnist_run
    lines = stdout.splitlines()
    assert [l.split(" - ")[0] for l in lines if l.startswith("Epoch ")] == ["Epoch 1/2", "Epoch 2/2"]
    assert any(l.startswith("completed after 2 epochs") for l in lines)
    assert any(l.startswith("test: loss=") for l in lines)


def test_run_dir_has_every_artifact(mnist_run):
    run_dir, _ = mnist_run
    for name in ("config.yaml", "status.json", "history.csv", "history.json", "events.jsonl",
                 "train.log", "checkpoints/last.pt", "checkpoints/best.pt", "model.weights.h5",
                 "metrics.json"):
        assert (run_dir / name).is_file(), name


def test_history_csv_and_json(mnist_run):
    run_dir, _ = mnist_run
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert list(rows[0]) == ["epoch", "loss", "sparse_categorical_accuracy", "val_loss",
                             "val_sparse_categorical_accuracy", "lr", "seconds"]
    history = read_json(run_dir / "history.json")
    assert set(history) == {"history", "params", "epoch"}
    assert history["epoch"] == [0, 1]
    assert history["params"]["epochs"] == 2
    for key in ("loss", "val_loss", "sparse_categorical_accuracy", "val_sparse_categorical_accuracy"):
        assert len(history["history"][key]) == 2
        assert [float(r[key]) for r in rows] == history["history"][key]
    # Training makes progress.
    assert history["history"]["loss"][1] < history["history"]["loss"][0]


def test_status_config_and_events(mnist_run):
    run_dir, _ = mnist_run
    status = read_json(run_dir / "status.json")
    assert status["state"] == "completed"
    assert status["epoch"] == 2
    assert isinstance(status["pid"], int) and status["step"] > 0
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["fit"]["epochs"] == 2 and config["data"]["train"]["limit"] == 1200
    assert config["fit"]["batch_size"] == 64  # defaults and file values resolved
    events = [json.loads(line)["event"] for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert events == ["started", "epoch", "epoch", "completed"]


def test_accuracy_well_above_chance(mnist_run):
    run_dir, _ = mnist_run
    metrics = read_json(run_dir / "metrics.json")
    assert set(metrics) == {"loss", "sparse_categorical_accuracy"}
    assert metrics["sparse_categorical_accuracy"] > 0.6  # chance is 0.1


def test_weights_h5_holds_every_parameter(mnist_run):
    run_dir, _ = mnist_run
    with h5py.File(run_dir / "model.weights.h5") as handle:
        names = []
        handle.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        sizes = {n: handle[n].size for n in names}
    assert sum(sizes.values()) == 55_050
    assert sum(size for name, size in sizes.items() if "dense_1" in name) == 784 * 64 + 64


def test_evaluate_reproduces_logged_validation_metrics(mnist_run, cli):
    run_dir, _ = mnist_run
    result = cli("evaluate", "--ckpt", run_dir / "checkpoints/last.pt", "--split", "validation", "--json")
    assert result.exit_code == 0, result.output
    evaluated = json.loads(result.stdout)
    history = read_json(run_dir / "history.json")["history"]
    assert evaluated["loss"] == history["val_loss"][-1]
    assert evaluated["sparse_categorical_accuracy"] == history["val_sparse_categorical_accuracy"][-1]


def test_evaluate_test_split_matches_metrics_json(mnist_run, cli):
    run_dir, _ = mnist_run
    result = cli("evaluate", "--ckpt", run_dir / "checkpoints/last.pt", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == read_json(run_dir / "metrics.json")


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".h5", ".csv"])
def test_predict_writes_one_row_per_input(mnist_run, cli, workdir, suffix):
    run_dir, _ = mnist_run
    images = np.random.default_rng(0).integers(0, 255, size=(37, 28, 28), dtype=np.uint8)
    np.save(workdir / "x.npy", images)
    out = workdir / f"pred{suffix}"
    result = cli("predict", "--ckpt", run_dir / "checkpoints/last.pt", "--input", workdir / "x.npy",
                 "--output", out)
    assert result.exit_code == 0, result.output
    if suffix == ".npy":
        predictions = np.load(out)
    elif suffix == ".npz":
        predictions = np.load(out)["predictions"]
    elif suffix == ".h5":
        with h5py.File(out) as handle:
            predictions = handle["predictions"][()]
    else:
        predictions = np.loadtxt(out, delimiter=",")
    assert predictions.shape == (37, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)  # softmax rows


def test_rerun_of_finished_run_is_a_noop(mnist_run, cli):
    run_dir, _ = mnist_run
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    result = cli("fit", CONFIGS / "mnist.yaml", "--run-dir", run_dir, *sets(*TINY_MNIST))
    assert result.exit_code == 0
    assert "already completed" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()} == before


def test_summary_and_validate(cli):
    result = cli("summary", CONFIGS / "mnist.yaml")
    assert result.exit_code == 0, result.output
    assert "Total params: 55,050" in result.stdout
    assert "predictions (Dense)" in result.stdout
    result = cli("validate", CONFIGS / "mnist.yaml")
    assert result.exit_code == 0, result.output
    assert "55,050 parameters" in result.stdout


def test_shipped_mnist_config_reaches_the_guides_accuracy(cli, workdir):
    """The full configs/mnist.yaml run (50,000 images, 2 epochs): test accuracy >= 0.95."""
    result = cli("fit", CONFIGS / "mnist.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    assert read_json(workdir / "runs/mnist_mlp/metrics.json")["sparse_categorical_accuracy"] >= 0.95
