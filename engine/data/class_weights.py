"""`fit.class_weight` -> per-sample weights of the training split, once, as Keras does: a
sample's class is the argmax of its target when the output has several units, else the target
rounded; its class's weight multiplies the sample's own weight (if any). `balanced`:
n_samples / (n_classes * count), counting the classes present (scikit-learn's rule)."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from .arrays import ArraySplit

KEY_PATH = "fit.class_weight"


def sample_classes(y: np.ndarray) -> np.ndarray:
    if y.ndim > 1 and y.shape[-1] != 1:
        return y.argmax(-1).reshape(-1)
    return np.round(y.reshape(len(y), -1)[:, 0]).astype(np.int64)


def class_weight_table(spec: Any, y: dict[str, np.ndarray] | None,
                       output_units: int | None) -> np.ndarray | None:
    """A weight per class index (None without `spec`). `output_units` is the single output's
    last dimension (None when unknown: the labels decide)."""
    if spec is None:
        return None
    if y is None or len(y) != 1:
        raise ConfigError("class_weight needs a single-output model with targets", KEY_PATH)
    classes = sample_classes(next(iter(y.values())))
    n_classes = max(output_units or int(classes.max(initial=0)) + 1, 2)
    if spec == "balanced":
        counts = np.bincount(np.clip(classes, 0, None), minlength=n_classes).astype(np.float64)
        present = int((counts > 0).sum())
        return np.where(counts > 0, len(classes) / (present * np.maximum(counts, 1)), 0.0)
    table = np.ones(n_classes)
    for cls, weight in spec.items():
        if not 0 <= int(cls) < n_classes:
            raise ConfigError(f"class {cls} is not a class the output can produce "
                              f"(0..{n_classes - 1})", f"{KEY_PATH}.{cls}")
        if weight < 0:
            raise ConfigError(f"class weights must be >= 0, got {weight}", f"{KEY_PATH}.{cls}")
        table[int(cls)] = weight
    return table


def weigh_samples(split: ArraySplit, table: np.ndarray) -> ArraySplit:
    """`split` with sample_weight = class weight of each sample x its own weight."""
    classes = np.clip(sample_classes(next(iter(split.y.values()))), 0, len(table) - 1)
    weight = table[classes].astype(np.float32)
    if split.sample_weight is not None:
        weight = weight * split.sample_weight.astype(np.float32).reshape(len(weight), -1)[:, 0]
    return ArraySplit(split.x, split.y, weight, split.origin, split.keys)
