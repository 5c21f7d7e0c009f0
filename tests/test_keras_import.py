"""`trainer import-keras`: models built and saved with Keras 3 are imported and predicted with
`trainer predict`; outputs match `keras_model.predict` within 1e-5 relative (largest absolute
difference over the largest output magnitude). Unsupported layers/arguments are exit 2 with
every item listed and nothing written."""
from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from conftest import write_config  # noqa: E402

TOLERANCE = 1e-5


def mlp():
    model = keras.Sequential([keras.Input((12,)), layers.Dense(16, activation="relu"),
                              layers.Dense(8, activation="tanh"),
                              layers.Dense(3, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model, {"input_layer": np.random.rand(16, 12).astype("float32")}


def mnist_convnet():
    """The Keras example's architecture (fewer filters: a test must be quick)."""
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(4, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(8, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model, {"input_layer": np.random.rand(16, 28, 28, 1).astype("float32")}


def multi_io():
    image = keras.Input((12, 12, 3), name="img_input")
    series = keras.Input((None, 4), name="ts_input")
    a = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3, name="c1")(image))
    b = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3, name="c2")(series))
    x = layers.Concatenate()([a, b])
    score = layers.Dense(1, name="score_output")(x)
    classes = layers.Dense(5, activation="softmax", name="class_output")(x)
    model = keras.Model([image, series], [score, classes])
    model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                  loss={"score_output": "mse", "class_output": "categorical_crossentropy"},
                  loss_weights={"score_output": 2.0, "class_output": 1.0})
    return model, {"img_input": np.random.rand(16, 12, 12, 3).astype("float32"),
                   "ts_input": np.random.rand(16, 9, 4).astype("float32")}


def batch_norm():
    model = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, padding="same"),
                              layers.BatchNormalization(), layers.Activation("relu"),
                              layers.Flatten(), layers.Dense(6),
                              layers.BatchNormalization(center=False), layers.Dense(2)])
    for layer in model.layers:  # moving statistics far from 0 / 1, so they matter
        if isinstance(layer, layers.BatchNormalization):
            layer.set_weights([np.random.rand(*w.shape).astype("float32") + 0.5
                               for w in layer.get_weights()])
    model.compile(optimizer="sgd", loss="mse")
    return model, {"input_layer": np.random.rand(16, 8, 8, 3).astype("float32")}


def embedding_rnn():
    tokens = keras.Input((7,), dtype="int32", name="tokens")
    x = layers.Embedding(20, 8)(tokens)
    x = layers.LSTM(6, return_sequences=True)(x)
    x = layers.GRU(5)(x)
    out = layers.Dense(2, activation="sigmoid")(x)
    model = keras.Model(tokens, out)
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["binary_accuracy"])
    return model, {"tokens": np.random.randint(0, 20, (16, 7)).astype("int64")}


def residual():
    inputs = keras.Input((10, 10, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(4, 3, padding="same")(x)
    y = layers.BatchNormalization()(y)
    x = layers.Activation("relu")(layers.Add()([x, y]))
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(3)(x))
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model, {"input_layer": np.random.rand(16, 10, 10, 3).astype("float32")}


MODELS = {"mlp": mlp, "mnist_convnet": mnist_convnet, "multi_io": multi_io,
          "batch_norm": batch_norm, "embedding_lstm_gru": embedding_rnn, "residual_add": residual}


def keras_outputs(model, inputs: dict) -> dict[str, np.ndarray]:
    given = [inputs[t.name] for t in model.inputs] if len(model.inputs) > 1 else \
        next(iter(inputs.values()))
    out = model.predict(given, verbose=0)
    out = out if isinstance(out, list) else [out]
    names = model.output_names if len(out) > 1 else ["predictions"]
    return dict(zip(names, out))


def relative_difference(expected: np.ndarray, got: np.ndarray) -> tuple[float, float]:
    diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
    return diff, diff / float(np.max(np.abs(expected)))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> (.keras path, inputs .npz path, Keras's outputs); built once."""
    folder = tmp_path_factory.mktemp("keras_models")
    keras.utils.set_random_seed(3)
    out = {}
    for name, make in MODELS.items():
        model, inputs = make()
        path = folder / f"{name}.keras"
        model.save(path)
        np.savez(folder / f"{name}_inputs.npz", **inputs)
        out[name] = (path, folder / f"{name}_inputs.npz", keras_outputs(model, inputs))
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_imported_model_predicts_like_keras(cli, workdir, saved, name):
    keras_file, inputs, expected = saved[name]
    result = cli("import-keras", keras_file, "--output", "imported")
    assert result.exit_code == 0, result.output
    result = cli("predict", "--ckpt", "imported/imported.pt", "--input", inputs,
                 "--output", "p.npz")
    assert result.exit_code == 0, result.output
    with np.load(workdir / "p.npz") as predicted:
        assert sorted(predicted.files) == sorted(expected)
        for output, want in expected.items():
            abs_diff, rel_diff = relative_difference(want, predicted[output])
            print(f"IMPORT-PARITY {name} {output} max_abs={abs_diff:.3g} max_rel={rel_diff:.3g}")
            assert rel_diff <= TOLERANCE, (name, output, abs_diff, rel_diff)


def test_compile_section_and_names_come_across(cli, workdir, saved):
    import yaml
    assert cli("import-keras", saved["multi_io"][0], "--output", "imported").exit_code == 0
    config = yaml.safe_load((workdir / "imported/experiment.yaml").read_text())
    assert config["model"]["outputs"] == ["score_output", "class_output"]
    assert set(config["model"]["inputs"]) == {"img_input", "ts_input"}
    assert config["compile"]["loss"] == {"score_output": "mse",
                                         "class_output": "categorical_crossentropy"}
    assert config["compile"]["loss_weights"] == {"score_output": 2.0, "class_output": 1.0}
    assert config["compile"]["optimizer"]["type"] == "RMSprop"
    assert config["compile"]["optimizer"]["learning_rate"] == 0.001
    # the imported weights evaluate and summarise like any checkpoint
    assert cli("summary", "--ckpt", "imported/imported.pt").exit_code == 0


def test_spatial_output_comes_back_channels_last_under_its_name(cli, workdir, tmp_path):
    inputs = keras.Input((6, 6, 2))
    model = keras.Model(inputs, layers.Conv2D(3, 3, padding="same", name="seg")(inputs))
    model.compile(loss="mse")
    model.save(tmp_path / "seg.keras")
    x = np.random.rand(4, 6, 6, 2).astype("float32")
    np.save(tmp_path / "x.npy", x)
    assert cli("import-keras", tmp_path / "seg.keras", "--output", "imported").exit_code == 0
    result = cli("predict", "--ckpt", "imported/imported.pt", "--input", tmp_path / "x.npy",
                 "--output", "p.npy")
    assert result.exit_code == 0, result.output
    _, rel = relative_difference(model.predict(x, verbose=0), np.load(workdir / "p.npy"))
    assert rel <= TOLERANCE
    import yaml
    config = yaml.safe_load((workdir / "imported/experiment.yaml").read_text())
    assert config["model"]["layers"][-1]["name"] == "seg"  # the Permute back, under Keras's name


def test_unsupported_layers_and_arguments_are_all_listed(cli, workdir, tmp_path):
    model = keras.Sequential([keras.Input((6, 6, 2)), layers.UpSampling2D(),
                              layers.Conv2D(2, 3, name="conv"), layers.Flatten(),
                              layers.Dense(4, name="dense_ok"),
                              layers.Reshape((4, 1)),
                              layers.LSTM(3, activation="relu", name="relu_lstm")])
    path = tmp_path / "bad.keras"
    model.save(path)
    result = cli("import-keras", path, "--output", "imported")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "layer 'up_sampling2d' (UpSampling2D)" in result.output
    assert "layer 'relu_lstm' (LSTM)" in result.output and "activation" in result.output
    assert not (workdir / "imported").exists()


def test_fit_resume_starts_from_the_imported_weights(cli, workdir, saved):
    """Fine-tuning: `fit --resume imported.pt` with data filled in starts from Keras's weights
    (a zero learning rate keeps them, so the run's predictions are still Keras's)."""
    import yaml
    keras_file, inputs, expected = saved["mlp"]
    assert cli("import-keras", keras_file, "--output", "imported").exit_code == 0
    config = yaml.safe_load((workdir / "imported/experiment.yaml").read_text())
    config["data"] = {"train": {"source": "synthetic", "generator": "classification",
                                "samples": 32, "features": 12, "classes": 3}}
    config["compile"]["optimizer"] = {"type": "sgd", "learning_rate": 0.0}
    result = cli("fit", write_config(workdir, config), "--resume", "imported/imported.pt", "--quiet")
    assert result.exit_code == 0, result.output
    result = cli("predict", "--ckpt", f"runs/{config['name']}/checkpoints/last.pt",
                 "--input", inputs, "--output", "p.npy")
    assert result.exit_code == 0, result.output
    _, rel = relative_difference(expected["predictions"], np.load(workdir / "p.npy"))
    assert rel <= TOLERANCE
