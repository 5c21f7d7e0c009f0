"""The Keras guides' own forms, written the guides' way in trainer, against Keras 3: plain
functions as loss / metric / activation / initializer / regulariser / constraint, a layer's
`add_loss`, a user layer with two inputs and three outputs, the list forms of compile, and an
output without a loss. Both sides start from the same weights (a deterministic initializer
function) and see the same batches (no shuffling), so the logged numbers must agree."""
from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest
import yaml

from keras_oracle import keras

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ops = keras.ops

N, FEATURES = 48, 6

# The guides' functions, in torch for trainer (the file a user writes next to the config).
COMPONENTS = textwrap.dedent('''
    import torch
    from torch import nn
    from trainer.engine.graph import add_loss

    def ramp(shape, dtype=torch.float32):
        n = 1
        for s in shape:
            n *= s
        return ((torch.arange(n, dtype=dtype) % 7 - 3) * 0.1).reshape(shape)

    def my_softplus(z):
        return torch.log(torch.exp(z) + 1.0)

    def my_l1_regularizer(weights):
        return torch.sum(torch.abs(0.01 * weights))

    def my_positive_weights(weights):
        return torch.where(weights < 0.0, torch.zeros_like(weights), weights)

    def huber_fn(y_true, y_pred):
        error = y_true - y_pred
        is_small = torch.abs(error) < 1
        return torch.mean(torch.where(is_small, torch.square(error) / 2, torch.abs(error) - 0.5), -1)

    def custom_mean_squared_error(y_true, y_pred):
        return torch.mean(torch.square(y_true - y_pred), -1)

    class ActivityRegularizationLayer(nn.Module):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def forward(self, inputs):
            add_loss(self.rate * torch.sum(inputs))
            return inputs

    class MyMultiLayer(nn.Module):
        def forward(self, X):
            X1, X2 = X
            return [X1 + X2, X1 * X2, X1 / X2]
''')


def keras_ramp(shape, dtype=None):
    n = int(np.prod(shape))
    return ops.convert_to_tensor(((np.arange(n) % 7 - 3) * 0.1).reshape(shape), "float32")


def keras_huber_fn(y_true, y_pred):
    error = y_true - y_pred
    is_small = ops.abs(error) < 1
    return ops.mean(ops.where(is_small, ops.square(error) / 2, ops.abs(error) - 0.5), -1)


def write_data(workdir, outputs: int = 1):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    ys = {f"y{i}": (x[:, :2].sum(1, keepdims=True) * (i + 1) + 0.3).astype("float32")
          for i in range(outputs)}
    np.savez(workdir / "data.npz", x=x, **ys)
    (workdir / "parts.py").write_text(COMPONENTS)
    return x, ys


def run_fit(cli, workdir, cfg: dict, name: str = "exp") -> dict[str, list[float]]:
    cfg = {"name": name, "seed": 1, **cfg}
    (workdir / f"{name}.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    result = cli("fit", f"{name}.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    return json.loads((workdir / "runs" / name / "history.json").read_text())["history"]


def data_section(y: object = "y0", validation_split: float = 0.25) -> tuple[dict, dict]:
    return ({"train": {"source": "npz", "path": "data.npz", "x": "x", "y": y}},
            {"batch_size": 12, "epochs": 2, "shuffle": False, "validation_split": validation_split})


def test_function_components_equal_their_class_forms_and_keras(cli, workdir):
    x, ys = write_data(workdir)
    data, fit = data_section()
    dense = {"type": "Dense", "units": 4, "kernel_initializer": "parts.py:ramp"}

    def model(activation, regularizer, constraint):
        return {"inputs": {"x": [FEATURES]}, "layers": [
            {**dense, "activation": activation, "kernel_regularizer": regularizer,
             "kernel_constraint": constraint},
            {"type": "Dense", "units": 1, "kernel_initializer": "parts.py:ramp"}]}

    functions = run_fit(cli, workdir, {
        "data": data, "fit": fit,
        "model": model("parts.py:my_softplus", "parts.py:my_l1_regularizer",
                       "parts.py:my_positive_weights"),
        "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.05}, "loss": "parts.py:huber_fn",
                    "metrics": ["parts.py:huber_fn", "parts.py:custom_mean_squared_error"]}},
        name="functions")
    classes = run_fit(cli, workdir, {
        "data": data, "fit": fit,
        "model": model("softplus", {"type": "l1", "l1": 0.01}, "non_neg"),
        "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.05}, "loss": "huber",
                    "metrics": ["huber", "mse"]}},
        name="classes")
    for ours, theirs in (("loss", "loss"), ("huber_fn", "huber"),
                         ("custom_mean_squared_error", "mse"), ("val_loss", "val_loss")):
        np.testing.assert_allclose(functions[ours], classes[theirs], rtol=1e-5, err_msg=ours)

    keras_model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(4, activation=lambda z: ops.log(ops.exp(z) + 1.0),
                           kernel_initializer=keras_ramp,
                           kernel_regularizer=lambda w: ops.sum(ops.abs(0.01 * w)),
                           kernel_constraint=lambda w: ops.where(w < 0.0, ops.zeros_like(w), w)),
        keras.layers.Dense(1, kernel_initializer=keras_ramp)])
    keras_model.compile(optimizer=keras.optimizers.SGD(0.05), loss=keras_huber_fn,
                        metrics=[keras_huber_fn])
    history = keras_model.fit(x[:36], ys["y0"][:36], batch_size=12, epochs=2, shuffle=False,
                              validation_data=(x[36:], ys["y0"][36:]), verbose=0).history
    np.testing.assert_allclose(functions["loss"], history["loss"], rtol=1e-5)
    np.testing.assert_allclose(functions["huber_fn"], history["keras_huber_fn"], rtol=1e-5)
    np.testing.assert_allclose(functions["val_loss"], history["val_loss"], rtol=1e-5)


class KerasActivityRegularization(keras.layers.Layer):
    def __init__(self, rate=1e-2, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs):
        self.add_loss(self.rate * ops.sum(inputs))
        return inputs


def test_add_loss_layer_equals_keras_add_loss(cli, workdir):
    x, ys = write_data(workdir)
    data, fit = data_section()
    ours = run_fit(cli, workdir, {
        "data": data, "fit": fit,
        "model": {"inputs": {"x": [FEATURES]}, "layers": [
            {"type": "Dense", "units": 4, "activation": "relu", "kernel_initializer": "parts.py:ramp"},
            {"type": "parts.py:ActivityRegularizationLayer", "rate": 0.01},
            {"type": "Dense", "units": 1, "kernel_initializer": "parts.py:ramp"}]},
        "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.05}, "loss": "mse"}})
    keras_model = keras.Sequential([
        keras.Input((FEATURES,)),
        keras.layers.Dense(4, activation="relu", kernel_initializer=keras_ramp),
        KerasActivityRegularization(0.01),
        keras.layers.Dense(1, kernel_initializer=keras_ramp)])
    keras_model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    history = keras_model.fit(x[:36], ys["y0"][:36], batch_size=12, epochs=2, shuffle=False,
                              validation_data=(x[36:], ys["y0"][36:]), verbose=0).history
    # The added term is folded into loss, in training and in evaluation, as in Keras.
    np.testing.assert_allclose(ours["loss"], history["loss"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours["val_loss"], history["val_loss"], rtol=1e-5, atol=1e-7)
    plain = run_fit(cli, workdir, {
        "data": data, "fit": fit,
        "model": {"inputs": {"x": [FEATURES]}, "layers": [
            {"type": "Dense", "units": 4, "activation": "relu", "kernel_initializer": "parts.py:ramp"},
            {"type": "Dense", "units": 1, "kernel_initializer": "parts.py:ramp"}]},
        "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.05}, "loss": "mse"}},
        name="plain")
    assert ours["loss"][0] > plain["loss"][0] + 1e-3  # the term is really there


def multi_layer_model(outputs: list[str]) -> dict:
    return {"inputs": {"x": [FEATURES]}, "layers": [
        {"name": "a", "type": "Dense", "units": 3, "kernel_initializer": "parts.py:ramp"},
        {"name": "b", "type": "Dense", "units": 3, "inputs": "x", "activation": "exponential",
         "kernel_initializer": "zeros"},
        {"name": "m", "type": "parts.py:MyMultiLayer", "inputs": ["a", "b"]},
        {"name": "c", "type": "Concatenate", "inputs": ["m[0]", "m[1]", "m[2]"]},
        {"name": "head_0", "type": "Dense", "units": 1, "inputs": "c"},
        {"name": "head_1", "type": "Dense", "units": 1, "inputs": "m[1]"}],
        "outputs": outputs}


def test_user_layer_with_two_inputs_and_three_outputs_trains_and_counts_like_keras(cli, workdir):
    x, ys = write_data(workdir)
    data, fit = data_section()
    cfg = {"data": data, "fit": fit, "model": multi_layer_model(["head_0"]),
           "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.02}, "loss": "mse"}}
    history = run_fit(cli, workdir, cfg)
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < history["loss"][0]

    summary = cli("summary", "exp.yaml", "--plot", "graph.png")
    assert summary.exit_code == 0, summary.output
    assert "graph drawn in graph.png" in summary.stdout
    from matplotlib.image import imread
    picture = imread(workdir / "graph.png")  # 7 boxes in 5 rows, 2 side by side
    assert picture.shape[0] > picture.shape[1] > 500 and picture[..., :3].min() < 0.1
    row = next(line for line in summary.stdout.splitlines() if line.startswith("m ("))
    assert "[(None, 3), (None, 3), (None, 3)]" in row

    class KerasMultiLayer(keras.layers.Layer):
        def call(self, X):
            X1, X2 = X
            return [X1 + X2, X1 * X2, X1 / X2]

    inp = keras.Input((FEATURES,))
    m = KerasMultiLayer()([keras.layers.Dense(3)(inp), keras.layers.Dense(3)(inp)])
    head_0 = keras.layers.Dense(1)(keras.layers.Concatenate()(m))
    head_1 = keras.layers.Dense(1)(m[1])
    keras_model = keras.Model(inp, [head_0, head_1])
    assert f"Total params: {keras_model.count_params():,}" in summary.stdout

    # m[2] read by nobody but the model: an output; `m` itself names three tensors.
    cfg["model"] = multi_layer_model(["m"])
    (workdir / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", **cfg}))
    bad = cli("fit", "bad.yaml")
    assert bad.exit_code == 2 and "has 3 outputs; name one as m[0] .. m[2]" in bad.output
    cfg["model"] = multi_layer_model(["m[3]"])
    (workdir / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", **cfg}))
    bad = cli("fit", "bad.yaml")
    assert bad.exit_code == 2 and "layer 'm' has only 3 outputs" in bad.output


def test_list_forms_equal_mapping_forms_and_an_output_without_loss_logs_nothing(cli, workdir):
    write_data(workdir, outputs=2)
    data, fit = data_section(y={"head_0": "y0", "head_1": "y1"})
    base = {"data": data, "fit": fit, "model": multi_layer_model(["head_0", "head_1"])}
    optimizer = {"type": "SGD", "learning_rate": 0.02}
    lists = run_fit(cli, workdir, {**base, "compile": {
        "optimizer": optimizer, "loss": ["mse", "mae"], "loss_weights": [1.0, 0.5],
        "metrics": [["mae"], ["mse", "mae"]]}}, name="lists")
    mappings = run_fit(cli, workdir, {**base, "compile": {
        "optimizer": optimizer, "loss": {"head_0": "mse", "head_1": "mae"},
        "loss_weights": {"head_0": 1.0, "head_1": 0.5},
        "metrics": {"head_0": ["mae"], "head_1": ["mse", "mae"]}}}, name="mappings")
    lists.pop("seconds"), mappings.pop("seconds")
    assert lists == mappings
    assert {"head_0_loss", "head_1_loss", "head_0_mae", "head_1_mse", "head_1_mae"} <= set(lists)

    only_one = run_fit(cli, workdir, {**base, "compile": {
        "optimizer": optimizer, "loss": {"head_0": "mse"}}}, name="only_one")
    assert "head_0_loss" in only_one and "head_1_loss" not in only_one
    assert "val_head_1_loss" not in only_one

    (workdir / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", **base, "compile": {
        "optimizer": optimizer, "loss": ["mse"]}}))
    bad = cli("fit", "bad.yaml")
    assert bad.exit_code == 2 and "1 losses for 2 outputs" in bad.output
    bad = cli("fit", "bad.yaml", "--set", "compile.loss=3")
    assert bad.exit_code == 2 and "a list of losses in output order" in bad.output
    bad = cli("fit", "bad.yaml", "--set", "compile.loss=[mse, {type: mae, reduction: none}]")
    assert bad.exit_code == 2 and "compile.loss[1].reduction" in bad.output
    assert "reduction 'none' leaves one value per sample" in bad.output


def test_evaluate_and_predict_before_training_equal_keras_on_the_same_initial_weights(cli, workdir):
    """The guides' basic loop prints the loss before training: `evaluate --config` builds the
    model from the config's seed, as fit starts it, and evaluates it untrained."""
    import h5py
    x, ys = write_data(workdir)
    np.savez(workdir / "test.npz", x=x[:20], y0=ys["y0"][:20])
    cfg = {"name": "exp", "seed": 7,
           "data": {"train": {"source": "npz", "path": "data.npz", "x": "x", "y": "y0"},
                    "test": {"source": "npz", "path": "test.npz", "x": "x", "y": "y0"}},
           "model": {"inputs": {"x": [FEATURES]}, "layers": [
               {"type": "Dense", "units": 4, "activation": "tanh"}, {"type": "Dense", "units": 1}]},
           "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.0}, "loss": "mse",
                       "metrics": ["mae"]},
           "fit": {"batch_size": 12, "epochs": 1}}
    (workdir / "exp.yaml").write_text(yaml.safe_dump(cfg))
    before = cli("evaluate", "--config", "exp.yaml", "--json")
    assert before.exit_code == 0, before.output
    ours = json.loads(before.stdout)
    predicted = cli("predict", "--config", "exp.yaml", "--input", "test.npz",
                    "--output", "before.npy")
    assert predicted.exit_code == 0, predicted.output

    # fit with learning rate 0 saves the initial weights the seed gave: the same model.
    assert cli("fit", "exp.yaml", "--quiet").exit_code == 0
    keras_model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(4, activation="tanh"),
                                    keras.layers.Dense(1)])
    with h5py.File(workdir / "runs/exp/model.weights.h5") as f:  # torch layout: kernel [out, in]
        for layer, name in zip(keras_model.layers, ("dense", "dense_1")):
            layer.set_weights([f[f"layers.{name}.kernel"][()].T, f[f"layers.{name}.bias"][()]])
    keras_model.compile(loss="mse", metrics=["mae"])
    theirs = keras_model.evaluate(x[:20], ys["y0"][:20], batch_size=12, return_dict=True, verbose=0)
    np.testing.assert_allclose(ours["loss"], theirs["loss"], rtol=1e-5)
    np.testing.assert_allclose(ours["mae"], theirs["mae"], rtol=1e-5)
    np.testing.assert_allclose(np.load(workdir / "before.npy"), keras_model.predict(x[:20], verbose=0),
                               rtol=1e-5, atol=1e-6)
    bad = cli("evaluate")
    assert bad.exit_code == 2 and "--config CONFIG to use the model before training" in bad.output


def test_predict_warns_on_inputs_that_cannot_be_raw_and_takes_preprocessed_ones(cli, workdir):
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(40, 12), dtype=np.uint8)
    np.savez(workdir / "raw.npz", x=images, y=(images[:, 0] > 127).astype("int64"))
    np.save(workdir / "scaled.npy", images.astype("float32") / 255.0)
    np.save(workdir / "raw.npy", images)
    cfg = {"name": "pix", "seed": 0,
           "data": {"train": {"source": "npz", "path": "raw.npz", "x": "x", "y": "y"},
                    "transforms": {"x": [{"cast": "float32"}, {"scale": 1 / 255}]}},
           "model": {"inputs": {"x": [12]}, "layers": [{"type": "Dense", "units": 2,
                                                        "activation": "softmax"}]},
           "compile": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"},
           "fit": {"batch_size": 20, "epochs": 1}}
    (workdir / "pix.yaml").write_text(yaml.safe_dump(cfg))
    assert cli("fit", "pix.yaml", "--quiet").exit_code == 0
    ckpt = "runs/pix/checkpoints/last.pt"
    raw = cli("predict", "--ckpt", ckpt, "--input", "raw.npy", "--output", "raw_pred.npy")
    assert raw.exit_code == 0 and "warning" not in raw.output
    twice = cli("predict", "--ckpt", ckpt, "--input", "scaled.npy", "--output", "twice.npy")
    assert twice.exit_code == 0
    assert "warning: input 'x' is float32, the raw training data was uint8" in twice.stderr
    assert "--preprocessed" in twice.stderr
    once = cli("predict", "--ckpt", ckpt, "--input", "scaled.npy", "--output", "once.npy",
               "--preprocessed")
    assert once.exit_code == 0 and "warning" not in once.output
    np.testing.assert_allclose(np.load(workdir / "once.npy"), np.load(workdir / "raw_pred.npy"),
                               rtol=1e-6)
    assert not np.allclose(np.load(workdir / "twice.npy"), np.load(workdir / "raw_pred.npy"))
