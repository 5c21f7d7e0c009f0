"""Checks that a model can train on its data, run before training and before anything is
written: non-empty splits, numeric arrays, input shapes the model accepts, labels within the
output's classes, sample weights finite and >= 0, and no NaN/inf (unless `data.allow_nan`).
Streamed HDF5 splits are checked chunk by chunk in one pass over the file; a streamed image
folder (pixels are finite, labels come from its index) and a Python data source by their
first rows or batch."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from ..errors import DataError
from .arrays import ArraySplit
from .sources.image_folder import ImageStreamSplit
from .sources.python_source import PythonSource


def check_data_fits(data: Any, model: Any) -> None:
    for split_name in ("train", "validation", "test"):
        split = getattr(data, split_name)
        if split is None:
            continue
        if len(split) == 0:
            raise DataError(f"the {split_name} split is empty", split.origin)
        for index, chunk in enumerate(_chunks(split)):
            if index == 0:
                check_shapes(chunk, split_name, model)
            _check_values(chunk, model, data.allow_nan)


def check_targets(data: Any) -> None:
    """For a recipe whose steps need targets: every split has y."""
    for split_name in ("train", "validation", "test"):
        split = getattr(data, split_name)
        if split is None:
            continue
        if isinstance(split, (ImageStreamSplit, PythonSource)):  # targets come with the batches
            targets = split.preview().y
        else:
            targets = getattr(split, "y", getattr(split, "y_keys", None))
        if targets is None:
            raise DataError(f"the {split_name} split has no targets (y), and the recipe needs "
                            f"them", split.origin)


def _chunks(split: Any) -> Iterator[ArraySplit]:
    if isinstance(split, ArraySplit):
        return iter([split])
    if isinstance(split, (ImageStreamSplit, PythonSource)):
        return iter([split.preview()])
    return split.passes()


def check_shapes(split: ArraySplit, split_name: str, model: Any) -> None:
    for name, array in split.arrays().items():
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
            raise DataError(f"holds non-numeric data ({array.dtype})", split.origin, split.key(name))
    for name, expected in model.input_shapes.items():
        if name not in split.x:
            raise DataError(f"no data for model input '{name}'", split.origin)
        got = split.x[name].shape[1:]
        if len(got) != len(expected) or any(e is not None and e != g for e, g in zip(expected, got)):
            raise DataError(f"{split_name} inputs for '{name}' have shape {list(got)} per "
                            f"sample; the model expects {list(expected)} (add a reshape "
                            f"transform under data.transforms?)", split.origin, split.key(name))


def _check_values(split: ArraySplit, model: Any, allow_nan: bool) -> None:
    weights = split.sample_weight
    if weights is not None and not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise DataError("sample weights must be finite and >= 0", split.origin,
                        split.key("sample_weight"))
    if not allow_nan:
        for name, array in split.arrays().items():
            if np.issubdtype(array.dtype, np.floating):
                finite = np.isfinite(array.reshape(len(array), -1)).all(axis=1)
                if not finite.all():
                    row = int(np.argmin(finite))
                    raise DataError(f"NaN or inf in sample {row} (set data.allow_nan: true to "
                                    f"accept)", split.origin, split.key(name))
    for name, labels in (split.y or {}).items():
        classes = _classes(model.output_shapes.get(name))
        if classes is None or int(np.prod(labels.shape[1:])) != 1 or len(labels) == 0:
            continue
        flat = labels.reshape(-1)
        bad = (flat < 0) | (flat >= classes) | (flat != np.floor(flat))
        if bad.any():
            raise DataError(f"label {flat[bad][0]} is outside the classes 0..{classes - 1} of "
                            f"output '{name}'", split.origin, split.key(name))


def _classes(shape: Any) -> int | None:
    """Classes of an output that sparse integer labels index (last axis > 1)."""
    if not shape or shape[-1] is None or shape[-1] < 2:
        return None
    return int(shape[-1])
