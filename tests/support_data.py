"""Helpers shared by the data tests (no tests here): small separable classification data and
the experiment configs that train on it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FEATURES, CLASSES = 4, 3


def blobs(n: int = 300, seed: int = 0, offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Well separated Gaussian blobs: (x float32 [n, 4], labels int64 [n])."""
    rng = np.random.default_rng(seed)
    centers = np.array([[4, 0, 0, 0], [0, 4, 0, 0], [0, 0, 4, 0]], dtype=np.float32)
    labels = rng.integers(0, CLASSES, size=n)
    x = centers[labels] + rng.normal(scale=0.7, size=(n, FEATURES)).astype(np.float32) + offset
    return x.astype(np.float32), labels.astype(np.int64)


def experiment(train: dict[str, Any], fit: dict[str, Any] | None = None,
               data: dict[str, Any] | None = None, model: dict[str, Any] | None = None,
               name: str = "data_test") -> dict[str, Any]:
    """A classifier of the blobs (input `features` [4], output `label` with 3 classes)."""
    return {
        "name": name, "seed": 3, "device": "cpu",
        "data": {"train": train, **(data or {})},
        "model": model or {"inputs": {"features": [FEATURES]}, "layers": [
            {"type": "Dense", "units": 16, "activation": "relu"},
            {"type": "Dense", "units": CLASSES, "activation": "softmax", "name": "label"}]},
        "compile": {"optimizer": {"type": "RMSprop", "learning_rate": 0.01},
                    "loss": "sparse_categorical_crossentropy",
                    "metrics": ["sparse_categorical_accuracy"]},
        "fit": {"batch_size": 16, "epochs": 3, "validation_split": 0.2, **(fit or {})},
    }


def fit(cli, config: Path, *args: str):
    """`trainer fit CONFIG --quiet ...` in-process."""
    return cli("fit", config, "--quiet", *args)
