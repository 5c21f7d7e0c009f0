"""Through the CLI: the book's user Huber loss/metric config and the Keras guide's
CategoricalTruePositives metric train and log under their names; bad losses, metrics,
optimizers and weights are refused with exit 2 before anything is written."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import CONFIGS, TINY_MNIST, sets


def history(workdir, name):
    with open(workdir / f"runs/{name}/history.csv") as f:
        return list(csv.DictReader(f))


def test_huber_regression_config_uses_the_user_loss_and_metric(cli, workdir):
    result = cli("fit", CONFIGS / "huber_regression.yaml", "--quiet",
                 *sets("fit.epochs=2", "data.train.samples=400"))
    assert result.exit_code == 0, result.output
    rows = history(workdir, "huber_regression")
    # The metric streams the same Huber values the loss averages (unit weights, one output).
    for row in rows:
        assert float(row["huber_metric"]) == pytest.approx(float(row["loss"]), rel=1e-5)
        assert float(row["val_huber_metric"]) == pytest.approx(float(row["val_loss"]), rel=1e-5)
    assert float(rows[-1]["loss"]) < float(rows[0]["loss"])


def test_categorical_true_positives_counts_correct_predictions_on_mnist(cli, workdir):
    result = cli("fit", CONFIGS / "mnist_true_positives.yaml", "--quiet", *sets(*TINY_MNIST))
    assert result.exit_code == 0, result.output
    rows = history(workdir, "mnist_true_positives")
    assert set(rows[0]) >= {"categorical_true_positives", "val_categorical_true_positives"}
    # 1,000 training samples; the count rises as the model learns.
    counts = [float(r["categorical_true_positives"]) for r in rows]
    assert 0 < counts[0] < counts[-1] <= 1000
    assert counts == [round(c) for c in counts]


def _tiny_regression(*overrides):
    return ("fit", CONFIGS / "huber_regression.yaml",
            *sets("fit.epochs=1", "data.train.samples=64", *overrides))


@pytest.mark.parametrize("overrides,message", [
    (["compile.loss=huberr"], "unknown loss 'huberr' (did you mean 'huber'?)"),
    (["compile.metrics=[maee]"], "unknown metric 'maee' (did you mean 'mae'?)"),
    (["compile.optimizer=nadamm"], "unknown optimizer 'nadamm' (did you mean 'Nadam'?)"),
    (["compile.metrics=[sparse_categorical_accuracy]"], "compile.metrics[0]"),
    (["compile.loss=categorical_crossentropy"], "one output unit per class"),
    (["fit.class_weight={3: 2.0}"], "fit.class_weight.3"),
    (["fit.class_weight={1: -1.0}"], "class weights must be >= 0"),
    (["compile.optimizer={type: SGD, clipnorm: 1, clipvalue: 1}"], "only one of"),
])
def test_bad_input_exits_2_naming_the_problem(cli, workdir, overrides, message):
    result = cli(*_tiny_regression(*overrides))
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (workdir / "runs").exists()


def test_sparse_metric_on_a_one_unit_output_fails_validate(cli, workdir):
    result = cli("validate", CONFIGS / "huber_regression.yaml",
                 *sets("compile.metrics=[sparse_categorical_accuracy]"))
    assert result.exit_code == 2
    assert "sparse_categorical_accuracy" in result.output and "one output unit per class" in result.output


def test_negative_sample_weights_exit_2(cli, workdir):
    rng = np.random.default_rng(0)
    np.savez(workdir / "d.npz", x=rng.normal(size=(20, 8)).astype("float32"),
             y=rng.normal(size=(20, 1)).astype("float32"),
             w=np.where(np.arange(20) == 3, -1.0, 1.0).astype("float32"))
    result = cli("fit", CONFIGS / "huber_regression.yaml",
                 *sets(f"data.train={json.dumps({'source': 'npz', 'path': 'd.npz', 'x': 'x', 'y': 'y', 'sample_weight': 'w'})}"))
    assert result.exit_code == 2, result.output
    assert "sample weights must be finite and >= 0" in result.output


def test_vector_metric_logs_one_column_per_element(cli, workdir):
    """F1Score(average=None) and multi-threshold Precision give one value per class/threshold."""
    result = cli("fit", CONFIGS / "mnist.yaml", "--run-dir", workdir / "run", *sets(
        "data.train.limit=600", "data.test.limit=100", "fit.epochs=1", "fit.checkpoint_every=3",
        "compile.loss=categorical_crossentropy", "data.transforms.y=[{one_hot: 10}]",
        "compile.metrics=[{type: F1Score, average: null}]"))
    assert result.exit_code == 0, result.output
    header = (workdir / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert [f"f1_score_{i}" for i in range(10)] == [h for h in header if h.startswith("f1_score")]
    assert [f"val_f1_score_{i}" for i in range(10)] == [h for h in header if h.startswith("val_f1")]
