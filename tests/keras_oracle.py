"""Shared helpers for the differential tests against Keras 3 (the torch backend)."""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

RTOL = 1e-5


def to_numpy(x) -> np.ndarray:
    return keras.ops.convert_to_numpy(x) if not isinstance(x, torch.Tensor) else x.detach().cpu().numpy()


def assert_close(ours, theirs, rtol: float = RTOL, atol: float = 1e-6) -> None:
    np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=rtol, atol=atol)


def case(kind: str, seed: int, n: int = 12, classes: int = 4):
    """(y_true, y_pred) float32 numpy arrays of a given kind, seeded."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, classes)).astype("float32")
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = rng.integers(0, classes, size=n)
    onehot = np.eye(classes, dtype="float32")[labels]
    if kind == "regression":
        return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")
    if kind == "positive":
        return rng.uniform(0.1, 2, size=(n, 3)).astype("float32"), rng.uniform(0.1, 2, size=(n, 3)).astype("float32")
    if kind == "binary":
        return (rng.integers(0, 2, size=(n, 1)).astype("float32"),
                rng.uniform(0.01, 0.99, size=(n, 1)).astype("float32"))
    if kind == "binary_logits":
        return rng.integers(0, 2, size=(n, 1)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")
    if kind == "multilabel":
        return (rng.integers(0, 2, size=(n, classes)).astype("float32"),
                rng.uniform(0, 1, size=(n, classes)).astype("float32"))
    if kind == "onehot":
        return onehot, probs
    if kind == "onehot_logits":
        return onehot, logits
    if kind == "sparse":
        return labels.astype("float32"), probs
    if kind == "sparse_logits":
        return labels.astype("float32"), logits
    raise ValueError(kind)


def weights(seed: int, n: int = 12) -> np.ndarray:
    return np.random.default_rng(seed + 100).uniform(0, 2, size=n).astype("float32")
