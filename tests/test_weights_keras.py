"""Class weights and sample weights end to end through `trainer fit`, against Keras 3's
`Model.fit` on the same data and weights: training loss and weighted_metrics carry
sample_weight x class_weight[label], plain metrics none, validation only sample weights.
The learning rate is 0 so both frameworks see the same (saved) weights at every batch."""
from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import yaml

from keras_oracle import keras

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

N, FEATURES, CLASSES = 48, 5, 3
CLASS_WEIGHT = {0: 2.0, 2: 0.5}


def write_data(workdir, one_hot: bool):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, FEATURES)).astype("float32")
    labels = rng.integers(0, CLASSES, size=N)
    y = np.eye(CLASSES, dtype="float32")[labels] if one_hot else labels.astype("int64")
    w = rng.uniform(0.2, 2.0, size=N).astype("float32")
    np.savez(workdir / "data.npz", x=x, y=y, w=w)
    return x, y, labels, w


def metric_lists(one_hot: bool) -> dict:
    if one_hot:
        return {"metrics": ["categorical_accuracy", "kl_divergence"],
                "weighted_metrics": ["categorical_crossentropy", "AUC"]}
    return {"metrics": ["sparse_categorical_accuracy", "sparse_categorical_crossentropy"],
            "weighted_metrics": ["accuracy"]}


def config(one_hot: bool, class_weight, sample_weight: bool) -> dict:
    split = {"source": "npz", "path": "data.npz", "x": "x", "y": "y"}
    if sample_weight:
        split["sample_weight"] = "w"
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    return {
        "name": "weights", "seed": 3,
        "data": {"train": split},
        "model": {"inputs": {"x": [FEATURES]},
                  "layers": [{"type": "Dense", "units": CLASSES, "activation": "softmax", "name": "out"}]},
        "compile": {"optimizer": {"type": "SGD", "learning_rate": 0.0}, "loss": loss,
                    **metric_lists(one_hot)},
        "fit": {"batch_size": 16, "epochs": 1, "shuffle": False, "validation_split": 0.25,
                **({"class_weight": class_weight} if class_weight else {})},
    }


def keras_fit(saved_weights, x, y, labels, train_w, class_weight, one_hot):
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(CLASSES, activation="softmax")])
    kernel = next(v for k, v in saved_weights.items() if v.ndim == 2)
    bias = next(v for k, v in saved_weights.items() if v.ndim == 1)
    model.layers[0].set_weights([kernel.T if kernel.shape[0] == CLASSES else kernel, bias])
    loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=loss, **metric_lists(one_hot))
    cut = int(N * 0.75)
    combined = None
    if train_w is not None or class_weight:
        combined = np.ones(cut, "float32") if train_w is None else train_w[:cut].copy()
        if class_weight:  # what Keras's class_weight does, multiplied with sample weights (SPEC 3)
            combined *= np.array([class_weight.get(int(c), 1.0) for c in labels[:cut]], "float32")
    val = (x[cut:], y[cut:]) if train_w is None else (x[cut:], y[cut:], train_w[cut:])
    history = model.fit(x[:cut], y[:cut], sample_weight=combined, batch_size=16, epochs=1,
                        shuffle=False, validation_data=val, verbose=0)
    return {k: v[-1] for k, v in history.history.items()}


@pytest.mark.parametrize("one_hot,class_weight,sample_weight", [
    (False, CLASS_WEIGHT, False), (False, None, True), (False, CLASS_WEIGHT, True),
    (True, CLASS_WEIGHT, True), (False, "balanced", False),
])
def test_fit_logs_equal_keras(cli, workdir, one_hot, class_weight, sample_weight):
    x, y, labels, w = write_data(workdir, one_hot)
    (workdir / "exp.yaml").write_text(yaml.safe_dump(config(one_hot, class_weight, sample_weight)))
    result = cli("fit", "exp.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    ours = json.loads((workdir / "runs/weights/history.json").read_text())["history"]
    with h5py.File(workdir / "runs/weights/model.weights.h5") as f:
        saved = {}
        f.visititems(lambda k, v: saved.__setitem__(k, v[()]) if isinstance(v, h5py.Dataset) else None)
    if class_weight == "balanced":
        train = labels[: int(N * 0.75)]
        counts = np.bincount(train, minlength=CLASSES)
        class_weight = {c: len(train) / (CLASSES * counts[c]) for c in range(CLASSES)}
    theirs = keras_fit(saved, x, y, labels, w if sample_weight else None, class_weight, one_hot)
    for key, value in theirs.items():
        if key == "learning_rate":
            continue
        np.testing.assert_allclose(ours[key][-1], value, rtol=1e-5, err_msg=key)
