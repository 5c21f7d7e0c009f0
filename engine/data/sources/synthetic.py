"""Synthetic data for examples and tests. The seed draws the samples; the problem itself
(class centres, regression weights) depends only on its sizes, so a train split and a test split
with different seeds are samples of the same task.

- linear: the TensorFlow basic-training-loop guide's y = 3x + 2 + N(0, noise), x evenly
  spaced over [-2, 2] (1 feature).
- classification: Gaussian blobs, one per class (integer labels).
- regression: y = x . w + b + noise with a fixed random w.
- multi_io: the Keras guide's image + time-series model data (img_input [3, 32, 32],
  ts_input [10, 20] channels-first, score_output [1], class_output one-hot [5]).
"""
from __future__ import annotations

import numpy as np

from ..arrays import ArraySplit


def generate(generator: str, samples: int, features: int | None, classes: int | None,
             noise: float | None, seed: int, input_names: list[str],
             output_names: list[str]) -> ArraySplit:
    rng = np.random.default_rng(seed)
    origin = f"synthetic {generator} (seed {seed})"
    if generator == "linear":
        x = np.linspace(-2.0, 2.0, samples, dtype=np.float32)[:, None]  # as the guide
        y = 3.0 * x + 2.0 + rng.normal(scale=1.0 if noise is None else noise, size=(samples, 1))
        return ArraySplit({input_names[0]: x}, {output_names[0]: y.astype(np.float32)}, None, origin)
    if generator == "classification":
        n_classes, n_features = classes or 2, features or 2
        centers = _task_rng(n_features, n_classes).normal(scale=3.0, size=(n_classes, n_features))
        labels = rng.integers(0, n_classes, size=samples)
        x = centers[labels] + rng.normal(scale=1.0 if noise is None else noise,
                                         size=(samples, n_features))
        return ArraySplit({input_names[0]: x.astype(np.float32)},
                          {output_names[0]: labels.astype(np.int64)}, None, origin)
    if generator == "regression":
        n_features = features or 8
        w = _task_rng(n_features).normal(size=(n_features, 1))
        x = rng.normal(size=(samples, n_features))
        y = x @ w + 0.5 + rng.normal(scale=0.1 if noise is None else noise, size=(samples, 1))
        return ArraySplit({input_names[0]: x.astype(np.float32)},
                          {output_names[0]: y.astype(np.float32)}, None, origin)
    if generator == "multi_io":
        img = rng.random((samples, 3, 32, 32), dtype=np.float32)
        ts = rng.random((samples, 10, 20), dtype=np.float32)
        score = (img.mean(axis=(1, 2, 3)) + ts.mean(axis=(1, 2)))[:, None].astype(np.float32)
        labels = rng.integers(0, 5, size=samples)
        onehot = np.eye(5, dtype=np.float32)[labels]
        x = dict(zip(input_names, (img, ts)))
        y = dict(zip(output_names, (score, onehot)))
        return ArraySplit(x, y, None, origin)
    raise ValueError(f"unknown synthetic generator '{generator}'")


def _task_rng(*sizes: int) -> np.random.Generator:
    return np.random.default_rng([20_231_123, *sizes])
