"""HDF5 files (`source: hdf5`): datasets chosen by key (`group/dataset` allowed), checked for
existence, numeric type and equal lengths. A split within `data.memory_budget` is read into
memory; a larger one becomes a StreamSplit read chunk by chunk while training."""
from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from ...errors import ConfigError, DataError
from ...search_path import find_file
from ..arrays import ArraySplit
from .keymap import map_keys
from .hdf5_stream import StreamSplit
from .unreadable import UNREADABLE, reason


def load_hdf5(spec: Any, key_path: str, input_names: list[str], output_names: list[str],
              budget: int) -> ArraySplit | StreamSplit:
    path = require_path(spec, key_path)
    try:
        with h5py.File(path, "r") as handle:
            return _load_open(handle, spec, key_path, input_names, output_names, budget, path)
    except UNREADABLE as exc:  # not HDF5, or damaged inside (a dataset that cannot be read)
        raise DataError(f"not a readable HDF5 file ({reason(exc)})", path) from None


def _load_open(handle: h5py.File, spec: Any, key_path: str, input_names: list[str],
               output_names: list[str], budget: int, path: str) -> ArraySplit | StreamSplit:
    names = dataset_names(handle)
    x_keys = map_keys(spec.x, input_names, "x", names, f"{key_path}.x")
    if not x_keys:
        raise DataError(f"no input dataset: set {key_path}.x (datasets: {_listing(names)})", path)
    y_keys = map_keys(spec.y, output_names, "y", names, f"{key_path}.y") or None
    all_keys = {**x_keys, **(y_keys or {})}
    if spec.sample_weight is not None:
        all_keys["sample_weight"] = spec.sample_weight
    datasets = {name: _dataset(handle, str(key), path, names) for name, key in all_keys.items()}
    length = _common_length(datasets, all_keys, path)
    stop = min(length, spec.limit) if spec.limit else length
    row_bytes = sum(int(np.prod(d.shape[1:])) * max(d.dtype.itemsize, 4)
                    for d in datasets.values())
    if row_bytes * stop <= budget:
        arrays = {name: d[:stop] for name, d in datasets.items()}
        return ArraySplit({n: arrays[n] for n in x_keys},
                          None if y_keys is None else {n: arrays[n] for n in y_keys},
                          arrays.get("sample_weight"), path,
                          {n: str(k) for n, k in all_keys.items()})
    first = datasets[next(iter(x_keys))]
    return StreamSplit(path, {n: str(k) for n, k in x_keys.items()},
                       None if y_keys is None else {n: str(k) for n, k in y_keys.items()},
                       None if spec.sample_weight is None else str(spec.sample_weight),
                       0, stop, budget, row_bytes, first.chunks[0] if first.chunks else 1)


def require_path(spec: Any, key_path: str) -> str:
    """The split's `path`, resolved next to the config first, then in the cwd."""
    if not spec.path:
        raise ConfigError(f"source {spec.source} needs 'path'", f"{key_path}.path")
    return str(find_file(spec.path, f"{key_path}.path"))


def dataset_names(handle: h5py.File) -> list[str]:
    names: list[str] = []
    handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def _dataset(handle: h5py.File, key: str, path: str, names: list[str]) -> h5py.Dataset:
    obj = handle.get(key)
    if obj is None:
        raise DataError(f"no dataset '{key}' (datasets: {_listing(names)})", path, key)
    if not isinstance(obj, h5py.Dataset):
        raise DataError(f"'{key}' is a group, not a dataset (datasets: {_listing(names)})", path, key)
    if obj.ndim == 0:
        raise DataError("is a scalar; expected one row per sample", path, key)
    if not (np.issubdtype(obj.dtype, np.number) or obj.dtype == np.bool_):
        raise DataError(f"holds non-numeric data ({obj.dtype})", path, key)
    return obj


def _common_length(datasets: dict[str, h5py.Dataset], keys: dict[str, Any], path: str) -> int:
    first = next(iter(datasets))
    for name, dataset in datasets.items():
        if len(dataset) != len(datasets[first]):
            raise DataError(f"'{keys[name]}' has {len(dataset)} samples but '{keys[first]}' has "
                            f"{len(datasets[first])}", path, str(keys[name]))
    return len(datasets[first])


def _listing(names: list[str]) -> str:
    return ", ".join(names[:20]) + (", ..." if len(names) > 20 else "") if names else "none"
