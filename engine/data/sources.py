"""Sources: a SplitSpec -> an ArraySplit keyed by the model's input and output names."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from .arrays import ArraySplit
from .mnist import load_mnist
from .synthetic import generate


def load_split(spec: Any, key_path: str, input_names: list[str],
               output_names: list[str]) -> ArraySplit:
    if spec.source == "mnist":
        if spec.split is None:
            raise ConfigError("source mnist needs 'split: train' or 'split: test'", f"{key_path}.split")
        images, labels = load_mnist(spec.split)
        split = ArraySplit({input_names[0]: images}, {output_names[0]: labels}, None,
                           f"mnist {spec.split}")
    elif spec.source == "synthetic":
        if spec.generator is None:
            raise ConfigError("source synthetic needs 'generator' (linear, classification, "
                              "regression or multi_io)", f"{key_path}.generator")
        split = generate(spec.generator, spec.samples or 1000, spec.features, spec.classes,
                         spec.noise, 0 if spec.seed is None else spec.seed, input_names, output_names)
    elif spec.source == "npz":
        split = _load_npz(spec, key_path, input_names, output_names)
    else:
        raise ConfigError(f"source '{spec.source}' is not supported yet", f"{key_path}.source")
    return split.slice(0, spec.limit) if spec.limit else split


def _load_npz(spec: Any, key_path: str, input_names: list[str], output_names: list[str]) -> ArraySplit:
    from ..errors import DataError
    if not spec.path:
        raise ConfigError("source npz needs 'path'", f"{key_path}.path")
    try:
        archive = np.load(spec.path)
    except FileNotFoundError:
        raise DataError("file not found", spec.path) from None

    def pick(key: Any) -> np.ndarray:
        if key not in archive:
            raise DataError(f"no array '{key}' (arrays: {', '.join(archive.files)})", spec.path, str(key))
        return archive[key]

    x = _map(spec.x or "x", input_names, pick)
    y = _map(spec.y or "y", output_names, pick) if (spec.y or "y" in archive) else None
    weights = pick(spec.sample_weight) if spec.sample_weight else None
    return ArraySplit(x, y, weights, spec.path)


def _map(keys: Any, names: list[str], pick) -> dict[str, np.ndarray]:
    if isinstance(keys, dict):
        return {name: pick(key) for name, key in keys.items()}
    return {names[0]: pick(keys)}
