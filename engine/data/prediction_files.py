"""Files for `trainer predict`: inputs read from .npy/.npz/.h5/.csv (a header row is detected),
predictions written in the format the output file's suffix names."""
from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np

from ..errors import DataError
from ..state.atomic import atomic_write
from .sources.csv_files import read_table
from .sources.unreadable import UNREADABLE, reason

SUFFIXES = (".h5", ".hdf5", ".npy", ".npz", ".csv")


def read_inputs(path: Path, input_names: list[str]) -> dict[str, np.ndarray]:
    """A single array goes to the only input; files with several arrays name the inputs
    (npz keys / HDF5 datasets named like the inputs, or `x` for a single input)."""
    path = Path(path)
    if not path.is_file():
        raise DataError("input file not found", str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return {input_names[0]: np.load(path, allow_pickle=False)}
        if suffix == ".csv":
            return {input_names[0]: read_table(str(path))}
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                return _pick(dict(archive), input_names, str(path))
        if suffix in (".h5", ".hdf5"):
            with h5py.File(path, "r") as handle:
                arrays = {}
                handle.visititems(lambda n, o: arrays.__setitem__(n, o[()])
                                  if isinstance(o, h5py.Dataset) else None)
                return _pick(arrays, input_names, str(path))
    except UNREADABLE as exc:
        raise DataError(f"cannot read input file: {reason(exc)}", str(path)) from None
    raise DataError(f"unsupported input file type '{suffix}' (use {', '.join(SUFFIXES)})", str(path))


def _pick(arrays: dict[str, np.ndarray], input_names: list[str], origin: str) -> dict[str, np.ndarray]:
    if all(name in arrays for name in input_names):
        return {name: arrays[name] for name in input_names}
    if len(input_names) == 1 and ("x" in arrays or len(arrays) == 1):
        return {input_names[0]: arrays.get("x", next(iter(arrays.values())))}
    raise DataError(f"expected arrays named {', '.join(input_names)}; found "
                    f"{', '.join(arrays) or 'none'}", origin)


def check_output_file(path: Path) -> None:
    """Refuse an output suffix predict cannot write, before any work is done."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(f"unsupported output file type '{suffix}' (use {', '.join(SUFFIXES)})",
                        str(path))


def write_predictions(path: Path, predictions: dict[str, np.ndarray]) -> None:
    """One array per model output; a single output is stored as `predictions`."""
    path = Path(path)
    check_output_file(path)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".csv") and len(predictions) != 1:
        raise DataError(f"{suffix} holds one array but the model has {len(predictions)} outputs; "
                        f"use .npz or .h5", str(path))
    buffer = io.BytesIO()
    if suffix == ".npy":
        np.save(buffer, next(iter(predictions.values())))
    elif suffix == ".npz":
        np.savez(buffer, **predictions)
    elif suffix == ".csv":
        array = next(iter(predictions.values()))
        np.savetxt(buffer, array.reshape(len(array), -1), delimiter=",", fmt="%.8g")
    else:
        with h5py.File(buffer, "w") as handle:
            for name, array in predictions.items():
                handle.create_dataset(name, data=array)
    atomic_write(path, lambda h: h.write(buffer.getbuffer()))
