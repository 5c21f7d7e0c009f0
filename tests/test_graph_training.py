"""Graphs that train: a functional graph with a shared layer, regularisers and constraints with
Keras's numbers, the torch.nn and user-layer escape hatches, and the shipped graph configs."""
from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import torch
import yaml
from conftest import CONFIGS, read_json, sets

from trainer.engine.graph import build_model, summarize

os.environ.setdefault("KERAS_BACKEND", "torch")

SHARED = {
    "name": "shared",
    "seed": 3,
    "data": {"train": {"source": "synthetic", "generator": "classification", "features": 8,
                       "classes": 3, "samples": 512}},
    "model": {
        "inputs": {"x": [8]},
        "layers": [
            {"name": "encode", "type": "Dense", "units": 8, "activation": "tanh", "inputs": "x"},
            {"name": "side", "type": "Dense", "units": 8, "inputs": "x"},
            {"name": "encode_side", "shares": "encode", "inputs": "side"},
            {"name": "merged", "type": "Add", "inputs": ["encode", "encode_side"]},
            {"name": "probs", "type": "Dense", "units": 3, "activation": "softmax"},
        ],
    },
    "compile": {"optimizer": {"type": "RMSprop", "learning_rate": 0.01},
                "loss": "sparse_categorical_crossentropy",
                "metrics": ["sparse_categorical_accuracy"]},
    "fit": {"epochs": 4, "batch_size": 32},
}


def _write(workdir, config, name="graph.yaml"):
    path = workdir / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_shared_layer_is_one_set_of_weights_and_trains(cli, workdir):
    path = _write(workdir, SHARED)
    summary = cli("summary", path)
    assert summary.exit_code == 0, summary.output
    row = next(line for line in summary.stdout.splitlines() if line.startswith("encode_side"))
    assert "(Dense, shares encode)" in row and " 0 " in row
    # 72 + 72 (encode counted once) + 27
    assert "Total params: 171" in summary.stdout

    result = cli("fit", path)
    assert result.exit_code == 0, result.output
    history = read_json(workdir / "runs/shared/history.json")["history"]
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert history["sparse_categorical_accuracy"][-1] > 0.9
    with h5py.File(workdir / "runs/shared/model.weights.h5") as weights:
        names = list(weights)
    assert "layers.encode.kernel" in names and not any("encode_side" in k for k in names)


def test_regularization_loss_equals_keras_and_is_in_the_logged_loss(cli, workdir):
    keras = pytest.importorskip("keras")
    spec = {"inputs": {"x": [6]}, "layers": [
        {"name": "d", "type": "Dense", "units": 4, "kernel_regularizer": {"type": "l1_l2", "l1": 0.01, "l2": 0.02},
         "bias_initializer": {"type": "RandomNormal", "stddev": 1.0},
         "bias_regularizer": "l2", "activity_regularizer": {"type": "l1", "l1": 0.05}}]}
    model = build_model(spec)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    model(torch.as_tensor(x))
    layer = keras.layers.Dense(4, kernel_regularizer=keras.regularizers.L1L2(0.01, 0.02),
                               bias_regularizer="l2", activity_regularizer=keras.regularizers.L1(0.05))
    layer.build((None, 6))
    layer.set_weights([model.layers["d"].kernel.detach().numpy().T, model.layers["d"].bias.detach().numpy()])
    layer(x)
    expected = sum(float(keras.ops.convert_to_numpy(v)) for v in layer.losses)
    assert model.regularization_loss().item() == pytest.approx(expected, rel=1e-5)
    assert build_model({"inputs": {"x": [6]}, "layers": [{"type": "Dense", "units": 2}]}
                       ).regularization_loss().item() == 0.0

    # Through fit: the same run with a strong L2 penalty logs a larger loss.
    plain = cli("fit", _write(workdir, {**SHARED, "fit": {"epochs": 1, "batch_size": 32}}))
    penalised = dict(SHARED, name="penalised", fit={"epochs": 1, "batch_size": 32})
    penalised["model"] = {**SHARED["model"], "layers": [
        {**SHARED["model"]["layers"][0], "kernel_regularizer": {"type": "l2", "l2": 1.0}},
        *SHARED["model"]["layers"][1:]]}
    heavy = cli("fit", _write(workdir, penalised, "penalised.yaml"))
    assert plain.exit_code == heavy.exit_code == 0, heavy.output
    loss = lambda name: read_json(workdir / f"runs/{name}/history.json")["history"]["loss"][0]  # noqa: E731
    assert loss("penalised") > loss("shared") + 0.5


def test_max_norm_constraint_matches_keras_and_holds_after_training(cli, workdir):
    keras = pytest.importorskip("keras")
    model = build_model({"inputs": {"x": [8]}, "layers": [
        {"name": "d", "type": "Dense", "units": 5, "kernel_constraint": {"type": "max_norm", "max_value": 0.5},
         "kernel_initializer": {"type": "RandomNormal", "stddev": 1.0}}]})
    kernel = model.layers["d"].kernel.detach().numpy().T.copy()  # Keras layout [in, units]
    expected = keras.ops.convert_to_numpy(keras.constraints.MaxNorm(0.5)(kernel))
    model.apply_constraints()
    np.testing.assert_allclose(model.layers["d"].kernel.detach().numpy().T, expected, rtol=1e-5)

    config = dict(SHARED, name="constrained", fit={"epochs": 1, "batch_size": 32})
    config["model"] = {**SHARED["model"], "layers": [
        *SHARED["model"]["layers"][:4],
        {**SHARED["model"]["layers"][4], "kernel_constraint": {"type": "max_norm", "max_value": 0.1}}]}
    result = cli("fit", _write(workdir, config))
    assert result.exit_code == 0, result.output
    with h5py.File(workdir / "runs/constrained/model.weights.h5") as weights:
        kernel = weights["layers.probs.kernel"][()]
    assert np.linalg.norm(kernel, axis=1).max() <= 0.1 + 1e-6  # per unit, over its inputs


def test_torch_module_and_user_layer_escape_hatches(workdir):
    (workdir / "blocks.py").write_text(
        "import torch\n"
        "class Scale(torch.nn.Module):\n"
        "    def __init__(self, input_shape, factor=2.0):\n"
        "        super().__init__()\n"
        "        self.weight = torch.nn.Parameter(torch.full(input_shape, factor))\n"
        "    def forward(self, x):\n"
        "        return x * self.weight\n")
    model = build_model({"inputs": {"seq": [7, 4]}, "layers": [
        {"type": "torch.nn.LSTM", "input_size": 4, "hidden_size": 3, "batch_first": True},
        {"type": "blocks.py:Scale", "factor": 3.0, "name": "scale"}]})
    out = model(torch.randn(2, 7, 4))
    assert out.shape == (2, 7, 3) and model.output_shapes["scale"] == (7, 3)
    rows = {r.name: r for r in summarize(model).rows}
    assert rows["scale"].params == 21 and rows["lstm"].params == 4 * (4 * 3 + 3 * 3 + 6)


def test_multi_io_config_builds_with_variable_length_series(cli):
    result = cli("summary", CONFIGS / "multi_io.yaml")
    assert result.exit_code == 0, result.output
    assert "ts_input (InputLayer)" in result.stdout and "(None, 10, None)" in result.stdout
    assert "Total params: 219" in result.stdout  # Keras's count for the guide's model
    model = build_model(yaml.safe_load((CONFIGS / "multi_io.yaml").read_text())["model"])
    outputs = model({"img_input": torch.rand(2, 3, 32, 32), "ts_input": torch.rand(2, 10, 37)})
    assert outputs["score_output"].shape == (2, 1) and outputs["class_output"].shape == (2, 5)


def test_residual_regressor_loads_its_user_layer_from_the_config_folder(cli):
    result = cli("summary", CONFIGS / "residual_regressor.yaml")
    assert result.exit_code == 0, result.output
    assert "block_1 (layers/residual.py:ResidualBlock)" in result.stdout
    assert "Total params: 8,705" in result.stdout


def test_mnist_cnn_config_trains_on_a_subset(cli, workdir):
    result = cli("fit", CONFIGS / "mnist_cnn.yaml",
                 *sets("data.train.limit=1200", "data.test.limit=300", "fit.epochs=1"))
    assert result.exit_code == 0, result.output
    metrics = read_json(workdir / "runs/mnist_cnn/metrics.json")
    assert metrics["sparse_categorical_accuracy"] > 0.6
