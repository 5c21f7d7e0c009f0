"""NumPy (`npz`, `npy`) and IDX (`idx`, optionally gzipped) files read into memory."""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError, DataError
from ...search_path import find_file
from ..arrays import ArraySplit
from .hdf5_files import require_path
from .idx import parse_idx
from .keymap import map_keys
from .unreadable import UNREADABLE, reason


def load_npz(spec: Any, key_path: str, input_names: list[str], output_names: list[str]) -> ArraySplit:
    path = require_path(spec, key_path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = list(archive.files)
            x_keys = map_keys(spec.x, input_names, "x", names, f"{key_path}.x")
            if not x_keys:
                raise DataError(f"no input array: set {key_path}.x (arrays: {', '.join(names)})", path)
            y_keys = map_keys(spec.y, output_names, "y", names, f"{key_path}.y")

            def pick(key: Any) -> np.ndarray:
                if str(key) not in names:
                    raise DataError(f"no array '{key}' (arrays: {', '.join(names) or 'none'})",
                                    path, str(key))
                return archive[str(key)]

            x = {name: pick(key) for name, key in x_keys.items()}
            y = {name: pick(key) for name, key in y_keys.items()} or None
            weights = pick(spec.sample_weight) if spec.sample_weight is not None else None
    except UNREADABLE as exc:
        raise DataError(f"not a readable .npz file ({reason(exc)})", path) from None
    keys = {**x_keys, **y_keys, "sample_weight": spec.sample_weight}
    return ArraySplit(x, y, weights, path, {n: str(k) for n, k in keys.items() if k is not None})


def load_array_files(spec: Any, key_path: str, input_names: list[str],
                     output_names: list[str]) -> ArraySplit:
    """`npy` / `idx`: one file per array: `path` (or `x_path`) for the input, `y_path` for the
    target, `sample_weight` a file of weights. One input and one output only."""
    x_file = spec.x_path or spec.path
    if not x_file:
        raise ConfigError(f"source {spec.source} needs 'path' (or 'x_path')", f"{key_path}.path")
    if len(input_names) > 1 or (spec.y_path and len(output_names) > 1):
        raise ConfigError(f"source {spec.source} holds one array per file; a model with several "
                          f"inputs or outputs needs npz, hdf5 or csv", f"{key_path}.source")
    read = _read_npy if spec.source == "npy" else _read_idx
    x_file = str(find_file(x_file, f"{key_path}.{'x_path' if spec.x_path else 'path'}"))
    y_file = str(find_file(spec.y_path, f"{key_path}.y_path")) if spec.y_path else None
    weight_file = (str(find_file(str(spec.sample_weight), f"{key_path}.sample_weight"))
                   if spec.sample_weight is not None else None)
    x = {input_names[0]: read(x_file)}
    y = {output_names[0]: read(y_file)} if y_file else None
    weights = read(weight_file) if weight_file else None
    keys = {input_names[0]: x_file}
    if y_file:
        keys[output_names[0]] = y_file
    if weight_file:
        keys["sample_weight"] = weight_file
    return ArraySplit(x, y, weights, x_file, keys)


def _read_npy(path: str) -> np.ndarray:
    if not Path(path).is_file():
        raise DataError("file not found", path)
    try:
        array = np.load(path, allow_pickle=False)
    except UNREADABLE as exc:
        raise DataError(f"not a readable .npy file ({reason(exc)})", path) from None
    if not isinstance(array, np.ndarray) or array.ndim == 0:
        raise DataError("expected an array with one row per sample", path)
    return array


def _read_idx(path: str) -> np.ndarray:
    if not Path(path).is_file():
        raise DataError("file not found", path)
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except UNREADABLE as exc:
            raise DataError(f"corrupted gzip file ({reason(exc)})", path) from None
    return parse_idx(raw, path)
